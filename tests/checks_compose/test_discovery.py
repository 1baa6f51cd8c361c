"""What the walk hands the compose gate: compose files by name, their faults said per path, and the
`include`s followed, or an error where they cannot be, never skipped quietly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gates.checks import GATES, load_config
from gates.checks.compose.gate import is_compose_name
from gates.engine import run
from gates.gate import RunFlags
from gates.model import Outcome
from tests.conftest import require_corpus
from tests.support.rule_cases import gate_report

SERVICE = 'services:\n  a:\n    image: a:1\n    user: "1"\n    read_only: true\n    security_opt: [no-new-privileges]\n'


@pytest.mark.parametrize(("name", "found"), [
    ("compose.yaml", True), ("compose.yml", True), ("docker-compose.yml", True), ("docker-compose.yaml", True),
    ("docker-compose.prod.yml", True), ("docker-compose-ci.yaml", True), ("compose.json", False),
    ("my-compose.yaml", False), ("Compose.yaml", False), ("compose.yaml.bak", False),
])
def test_names(name: str, found: bool) -> None:
    assert is_compose_name(name) is found


def test_a_fifo_or_a_link_out_of_the_tree_is_never_opened(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "svc").mkdir(parents=True)
    os.mkfifo(tree / "svc" / "docker-compose.yml")
    outside = tmp_path / "outside.yaml"
    outside.write_text(SERVICE, encoding="utf-8")
    (tree / "compose.yaml").symlink_to(outside)
    os.mkfifo(tree / "other.yaml")  # not a compose name: the manifest gate's business, not this one's
    report = gate_report(tmp_path, SERVICE, gate="compose", filename="tree/svc/compose.yml")
    assert len(report.results) == 1  # the file itself; now walk the tree
    job = GATES["compose"].build_job(load_config(tmp_path / "gates.toml", env={}), RunFlags(paths=(str(tree),)))
    results = {r.target.removeprefix(f"{tree}/"): r for r in run([job]).results}
    assert results["svc/docker-compose.yml"].outcome is Outcome.SKIPPED
    assert "not a regular file" in (results["svc/docker-compose.yml"].error or "")
    assert results["compose.yaml"].outcome is Outcome.SKIPPED
    assert "outside the scanned tree" in (results["compose.yaml"].error or "")
    assert "other.yaml" not in results
    assert results["svc/compose.yml#service/a"].outcome is Outcome.PASSED
    assert len(results) == 3


def test_an_include_is_followed_or_an_error(tmp_path: Path) -> None:
    (tmp_path / "part.yaml").write_text(SERVICE, encoding="utf-8")
    report = gate_report(tmp_path, "include: [part.yaml, {path: [other.yaml]}]\n" + SERVICE, gate="compose",
                         filename="compose.yaml")
    by_target = {r.target.rsplit("/", 1)[-1] if "#include" not in r.target else r.target.rsplit("#", 1)[-1]: r
                 for r in report.results}
    assert by_target["include[1]"].outcome is Outcome.ERROR
    assert "include[0]" not in by_target  # followed: part.yaml is judged as its own file
    assert any(r.target.endswith("part.yaml#service/a") for r in report.results)
    job = GATES["compose"].build_job(load_config(tmp_path / "gates.toml", env={}), RunFlags(
        paths=(str(tmp_path / "compose.yaml"), str(tmp_path / "part.yaml"))))
    targets = [r.target.removeprefix(f"{tmp_path}/") for r in run([job]).results]
    assert targets == ["compose.yaml#include[1]", "compose.yaml#service/a", "part.yaml#service/a"]


def test_label_waivers_in_list_form_expired_and_without_reason(tmp_path: Path) -> None:
    text = SERVICE + ('    privileged: true\n    labels:\n'
                      '      - "gates.dev/waive.compose-privileged=old; expires=2000-01-01"\n'
                      '  b:\n    image: b:1\n    labels: {gates.dev/waive.compose-read-only: ""}\n')
    report = gate_report(tmp_path, text, gate="compose", filename="compose.yaml")
    by_service = {r.target.rsplit("/", 1)[-1]: r for r in report.results}
    (finding,) = by_service["a"].findings
    assert finding.waiver is None and "expired on 2000-01-01" in finding.notes[0]
    assert by_service["b"].outcome is Outcome.ERROR and "waiver has no reason" in (by_service["b"].error or "")


@pytest.mark.parametrize(("child", "rules"), [
    ("    cap_add: !reset []\n", []),
    ("    cap_add: !override [CHOWN]\n", []),
    ("    cap_add: [CHOWN]\n", ["compose-capabilities"]),
    ("    privileged: !reset\n", ["compose-capabilities"]),
    ("    privileged: !override true\n", ["compose-privileged", "compose-capabilities"]),
])
def test_compose_merge_tags(tmp_path: Path, child: str, rules: list[str]) -> None:
    """`!reset` drops what the base gave, `!override` replaces instead of adding up (compose's merge tags)."""
    text = SERVICE.replace("  a:\n", "  base:\n    image: b:1\n    cap_add: [SYS_ADMIN]\n    privileged: false\n"
                                      "  a:\n    extends: base\n" + child)
    report = gate_report(tmp_path, text, gate="compose", filename="compose.yaml")
    by_service = {r.target.rsplit("/", 1)[-1]: r for r in report.results}
    assert by_service["a"].outcome is not Outcome.ERROR, by_service["a"].error
    assert [f.rule for f in by_service["a"].findings] == rules


def test_the_reset_fixture_of_compose_go(tmp_path: Path) -> None:
    """compose-go's extends/reset.yaml: `command: !reset` on a service extending another (needs the corpus)."""
    path = require_corpus("compose", "compose-go", "loader", "testdata", "extends", "reset.yaml")
    report = gate_report(tmp_path, path.read_text(encoding="utf-8"), gate="compose", filename="compose.yaml")
    assert {r.target.rsplit("/", 1)[-1]: r.outcome for r in report.results} == {
        "init": Outcome.FAILED, "base": Outcome.FAILED}


def test_a_pipe_named_on_the_command_line_is_an_error_with_the_compose_hint(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "services.yml")
    config = load_config(None, env={}, cwd=tmp_path)
    job = GATES["compose"].build_job(config, RunFlags(paths=(str(tmp_path / "services.yml"),)))
    (result, *_) = run([job]).results
    assert result.outcome is Outcome.ERROR and "a pipe (FIFO)" in (result.error or "")
    assert "`COMMAND | gates compose -`" in (result.error or "")
