"""Names people type: severities and rule IDs in any case, every reported rule ID explainable, one style
for usage errors (`gates: error: ...`, click's own messages too), config files named as written."""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.checks_vulnerabilities.reports import trivy, trivy_vuln
from tests.checks_vulnerabilities.reports import write as write_report
from tests.conftest import REPO, run_process
from tests.core.reports_support import failing_project, gates
from tests.manifests.helpers import compliant_pod_spec, wrap, write


@pytest.fixture
def medium_only(tmp_path: Path) -> Path:
    """A repository whose one finding is medium (a host port)."""
    (tmp_path / ".git").mkdir()
    spec = compliant_pod_spec()
    spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]
    write(tmp_path, "pod.yaml", wrap("Pod", spec))
    return tmp_path


@pytest.mark.parametrize("command", ["manifests", "run"])  # the fast path and the full CLI
@pytest.mark.parametrize(("spelling", "code"), [("HIGH", 0), ("High", 0), ("high", 0), ("MEDIUM", 1), ("mEdIuM", 1),
                                                ("HGH", 2)])
def test_fail_on_in_any_case(medium_only: Path, command: str, spelling: str, code: int) -> None:
    assert gates([command, "--fail-on", spelling, "pod.yaml"], medium_only).code == code


def test_fail_on_in_any_case_from_config_and_environment(medium_only: Path) -> None:
    assert gates(["manifests", "pod.yaml"], medium_only, {"GATES_FAIL_ON": "HiGh"}).code == 0
    (medium_only / "gates.toml").write_text('fail-on = "CRITICAL"\n')
    assert gates(["manifests", "pod.yaml"], medium_only).code == 0
    assert gates(["manifests", "--fail-on", "Medium", "pod.yaml"], medium_only).code == 1


def test_explain_takes_rule_ids_in_any_case(tmp_path: Path) -> None:
    run = run_process(["explain", "PSS-PRIVILEGED"], cwd=tmp_path)
    assert run.code == 0 and run.out.startswith("pss-privileged: ")
    wrong = run_process(["explain", "PSS-PRIVILEGD"], cwd=tmp_path)
    assert wrong.code == 2 and wrong.err.startswith("gates: error: unknown rule 'PSS-PRIVILEGD' (did you mean"
                                                    " pss-privileged")


def _reported_rule_ids(repo: Path) -> set[str]:
    """Every rule ID the SARIF, Code Quality and JUnit reports of a run with findings, errors and skips use."""
    (repo / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: {\n")  # undecided
    chart = repo / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")  # skipped
    (chart / "templates" / "pod.yaml").write_text("{{ .Values.x }}\n")
    run = gates(["manifests", ".", "-o", "sarif=r.sarif", "-o", "gitlab-codequality=cq.json", "-o", "junit=j.xml"],
                repo)
    assert run.code == 1, run.err
    sarif = json.loads((repo / "r.sarif").read_text())["runs"][0]
    ids = {r["id"] for r in sarif["tool"]["driver"]["rules"]} | {r["ruleId"] for r in sarif["results"]}
    ids |= {n["descriptor"]["id"] for n in sarif["invocations"][0].get("toolExecutionNotifications", [])}
    ids |= {entry["check_name"] for entry in json.loads((repo / "cq.json").read_text())}
    ids |= {failure.get("type", "") for failure in ET.parse(repo / "j.xml").iter("failure")}
    assert {"gates-undecided", "gates-skipped", "pss-privileged"} <= ids
    return ids - {""}


def _reporter_literal_ids() -> set[str]:
    """`gates-*` IDs written in the reporters' source, such as the internal-error notification's."""
    found = set()
    for path in (REPO / "gates" / "reporters").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"gates-[a-z-]+",
                                                                                                   node.value):
                found.add(node.value)
    return found


def test_every_rule_id_a_report_uses_is_explainable(tmp_path: Path) -> None:
    ids = _reported_rule_ids(failing_project(tmp_path / "repo")) | _reporter_literal_ids()
    assert "gates-internal-error" in ids
    unexplained = [rule for rule in sorted(ids) if run_process(["explain", rule], cwd=tmp_path).code != 0]
    assert unexplained == []
    listing = run_process(["list"], cwd=tmp_path).out
    assert all(rule in listing for rule in ids)


@pytest.mark.parametrize(("args", "line"), [
    (["manifests", "--fail-on", "hgh", "x.yaml"],
     "gates: error: Invalid value for '--fail-on': 'hgh' is not one of 'info', 'low', 'medium', 'high',"
     " 'critical' (see `gates manifests --help`)"),
    (["no-such-command"], "gates: error: No such command 'no-such-command' (see `gates --help`)"),
    (["explain"], "gates: error: Missing argument 'RULE' (see `gates explain --help`)"),
    (["base-image", "--max-age-days", "soon"],
     "gates: error: Invalid value for '--max-age-days': 'soon' is not a valid int range (see `gates base-image"
     " --help`)"),
])
def test_usage_errors_have_one_style(tmp_path: Path, args: list[str], line: str) -> None:
    run = run_process(args, cwd=tmp_path)
    assert run.code == 2 and run.out == ""
    assert run.err.splitlines() == [line]


def test_config_errors_name_the_file_as_written(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "gates.toml").write_text("bogus = 1\n")
    write(tmp_path, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run = run_process(["manifests", "--config", "conf/../conf/gates.toml", "pod.yaml"], cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith("gates: configuration error: conf/../conf/gates.toml: bogus: unknown key")
    (tmp_path / "gates.toml").write_text("fail-on = \n")  # found, not named: relative to the working directory
    found = run_process(["manifests", "pod.yaml"], cwd=tmp_path)
    assert found.code == 2 and found.err.startswith("gates: configuration error: gates.toml: invalid TOML")


@pytest.mark.parametrize("spelling", ["CRITICAL", "Critical"])
def test_min_severity_in_any_case(tmp_path: Path, spelling: str) -> None:
    (tmp_path / ".git").mkdir()
    write_report(tmp_path, "trivy.json", trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0-r0", "3.1.4-r0")))
    run = run_process(["vulnerabilities", "--min-severity", spelling, "--format", "json", "trivy.json"],
                      cwd=tmp_path)
    assert run.code == 0, run.err  # the one high vulnerability is left out
    assert [f for r in json.loads(run.out)["results"] for f in r["findings"]] == []
