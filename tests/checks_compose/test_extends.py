"""`extends` resolved as compose resolves it: fields inherited with their own file:line, merged sequences
adding up, a remounted path judged once, and every base that cannot be followed an error, said."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gates.model import Outcome, Report
from tests.support.rule_cases import findings_of, gate_report

SAFE = '    user: "1"\n    read_only: true\n    security_opt: ["no-new-privileges:true"]\n'


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def _run(tmp_path: Path, text: str) -> Report:
    return gate_report(tmp_path, text, gate="compose", filename="app/compose.yaml")


def test_a_base_in_another_file_is_merged_and_its_finding_points_there(tmp_path: Path) -> None:
    _write(tmp_path / "app" / "common" / "base.yml", "services:\n  base:\n    image: nginx:1.27\n"
           "    cap_add: [NET_ADMIN]\n    privileged: true\n")
    report = _run(tmp_path, "services:\n  web:\n    extends: {file: common/base.yml, service: base}\n"
                  "    cap_add: [SYS_PTRACE]\n    privileged: false\n" + SAFE)
    (result,) = report.results
    assert [(f.rule, f.location.path.rsplit("/", 2)[-2:], f.location.line, f.location.column)
            for f in result.findings] == [
        ("compose-capabilities", ["common", "base.yml"], 4, 15),
        ("compose-capabilities", ["app", "compose.yaml"], 4, 15),
    ]
    assert result.details and "common/base.yml#base" in result.details[0]


def test_extends_in_the_same_file_and_chains(tmp_path: Path) -> None:
    report = _run(tmp_path, "services:\n  root:\n    image: nginx\n  mid:\n    extends: root\n    pid: host\n"
                  "  web:\n    extends: mid\n" + SAFE)
    assert ("compose-image-latest", "service/web", "3:5") in findings_of(report)
    assert ("compose-host-namespaces", "service/web", "6:5") in findings_of(report)


def test_a_remounted_container_path_is_judged_once(tmp_path: Path) -> None:
    report = _run(tmp_path, "services:\n  base:\n    image: a:1\n    volumes: [/var/run/docker.sock:/sock]\n"
                  + SAFE + "  web:\n    extends: base\n    volumes: [./fake.sock:/sock]\n")
    assert ("compose-runtime-socket", "service/base", "4:15") in findings_of(report)
    assert not {f for f in findings_of(report) if f[1] == "service/web"}


def _error_of(report: Report, service: str) -> str:
    (result,) = [r for r in report.results if r.target.endswith(f"#service/{service}")]
    assert result.outcome is Outcome.ERROR
    return result.error or ""


def test_a_cycle_is_an_error(tmp_path: Path) -> None:
    report = _run(tmp_path, "services:\n  a:\n    extends: b\n  b:\n    extends: a\n")
    assert "extends cycle" in _error_of(report, "a") and "extends cycle" in _error_of(report, "b")


def test_a_missing_base_service_names_its_line(tmp_path: Path) -> None:
    report = _run(tmp_path, "services:\n  web:\n    image: a:1\n    extends: nowhere\n")
    assert "compose.yaml:4: extends: no service 'nowhere'" in _error_of(report, "web")


def test_a_base_outside_the_tree_or_remote_is_never_read(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text("services:\n  x:\n    image: a:1\n", encoding="utf-8")
    report = _run(tmp_path, f"services:\n  web:\n    extends: {{file: ../../{outside.name}, service: x}}\n"
                  "  far:\n    extends: {file: 'https://example.invalid/c.yaml', service: x}\n")
    assert "lies outside" in _error_of(report, "web") and "not read" in _error_of(report, "web")
    assert "is remote: gates never fetches a file" in _error_of(report, "far")


def test_an_invalid_base_file_is_an_error_of_the_service(tmp_path: Path) -> None:
    _write(tmp_path / "app" / "base.yml", "services:\n  base:\n    privileged: [yes]\n")
    report = _run(tmp_path, "services:\n  web:\n    extends: {file: base.yml, service: base}\n")
    error = _error_of(report, "web")
    assert "base.yml: line 3, column 5: services.base.privileged: must be a boolean" in error


def test_an_extends_that_depends_on_an_unset_variable(tmp_path: Path) -> None:
    report = _run(tmp_path, "services:\n  web:\n    extends: {file: '${GATES_TEST_UNSET_BASE}', service: x}\n")
    assert "depends on unset variable GATES_TEST_UNSET_BASE" in _error_of(report, "web")
