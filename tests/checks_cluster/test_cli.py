"""`gates cluster` and `gates run` as real processes: exit codes, every report format, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.checks_cluster.inputs import COMPLIANT_APISERVER_FLAGS, flag_at, static_pod
from tests.conftest import REPO, run_process

UNSAFE = static_pod((*(f for f in COMPLIANT_APISERVER_FLAGS if "anonymous" not in f), "--anonymous-auth=true"))
SKIP_UNCHECKED = '[cluster]\nskip-rules = ["cluster-config-unchecked"]\n'


def test_a_finding_in_json_junit_and_sarif_with_file_line_column(tmp_path: Path) -> None:
    (tmp_path / "kube-apiserver.yaml").write_text(UNSAFE)
    (tmp_path / "gates.toml").write_text(SKIP_UNCHECKED)
    at = flag_at(UNSAFE, "--anonymous-auth=true")
    line, column = (int(n) for n in at.split(":"))
    run = run_process(["cluster", "kube-apiserver.yaml", "--format", "json", "--output", "junit=out.xml",
                       "--output", "sarif=out.sarif"], cwd=tmp_path)
    assert run.code == 1, run.err
    (finding,) = [f for r in json.loads(run.out)["results"] for f in r["findings"]]
    assert finding["rule"] == "cluster-apiserver-anonymous-auth"
    assert finding["location"] == {"path": "kube-apiserver.yaml", "line": line, "column": column}
    assert finding["resource"] == "Pod/kube-system/kube-apiserver"
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "cluster-apiserver-anonymous-auth"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": line, "startColumn": column}
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "cluster-apiserver-anonymous-auth" in rule_ids
    failures = ET.parse(tmp_path / "out.xml").getroot().iter("failure")
    assert [f.get("type") for f in failures] == ["cluster-apiserver-anonymous-auth"]


def test_bad_input_is_one_line_exit_1_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "kube-apiserver.yaml").write_text(static_pod((*COMPLIANT_APISERVER_FLAGS, "--profiling=true")))
    (tmp_path / "good.yaml").write_text(static_pod(COMPLIANT_APISERVER_FLAGS))
    (tmp_path / "gates.toml").write_text(SKIP_UNCHECKED)
    run = run_process(["cluster", ".", "--format", "json", "--output", "junit=out.xml"], cwd=tmp_path)
    assert run.code == 1 and "Traceback" not in run.err
    outcomes = {r["target"]: (r["outcome"], r["error"]) for r in json.loads(run.out)["results"]}
    outcome, error = outcomes["kube-apiserver.yaml#Pod/kube-system/kube-apiserver"]
    assert outcome == "error" and "--profiling is given 2 times: kube-apiserver uses the last one, 'true'" in error
    assert outcomes["good.yaml#Pod/kube-system/kube-apiserver"] == ("passed", None)
    assert len(list(ET.parse(tmp_path / "out.xml").getroot().iter("error"))) == 1


def test_gates_run_runs_the_cluster_gate_when_the_configuration_names_it(tmp_path: Path) -> None:
    (tmp_path / "control-plane").mkdir()
    (tmp_path / "control-plane" / "kube-apiserver.yaml").write_text(UNSAFE)
    (tmp_path / "gates.toml").write_text(f'gates = ["cluster"]\n{SKIP_UNCHECKED}paths = ["control-plane"]\n')
    run = run_process(["run", "--format", "json"], cwd=tmp_path)
    assert run.code == 1, run.err
    report = json.loads(run.out)
    assert report["gates"] == ["cluster"]
    assert {f["rule"] for r in report["results"] for f in r["findings"]} == {"cluster-apiserver-anonymous-auth"}


def test_a_folder_without_cluster_configuration_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    run = run_process(["cluster", "."], cwd=tmp_path)
    assert run.code == 1 and "the cluster gate checked nothing" in run.out


def test_an_unknown_rule_in_skip_rules_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text('[cluster]\nskip-rules = ["cluster-no-such-rule"]\n')
    run = run_process(["cluster", "."], cwd=tmp_path)
    assert run.code == 2 and "cluster-no-such-rule" in run.err and "Traceback" not in run.err


def test_a_cluster_scan_imports_neither_sigstore_nor_requests(tmp_path: Path) -> None:
    (tmp_path / "kube-apiserver.yaml").write_text(UNSAFE)
    code = ("import sys\nfrom gates.cli import main\n"
            f"main(['cluster', {str(tmp_path)!r}, '--format', 'json', '--format', 'junit', '--format', 'sarif'])\n"
            "print('HEAVY', [m for m in ('sigstore', 'requests', 'cryptography') if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in proc.stdout


def test_github_annotations_and_gitlab_code_quality(tmp_path: Path) -> None:
    (tmp_path / "kube-apiserver.yaml").write_text(UNSAFE)
    (tmp_path / "gates.toml").write_text(SKIP_UNCHECKED)
    line, column = flag_at(UNSAFE, "--anonymous-auth=true").split(":")
    args = ["cluster", "kube-apiserver.yaml", "--format", "github", "--output", "gitlab-codequality=cq.json"]
    run = run_process(args, cwd=tmp_path)
    assert run.code == 1
    (annotation,) = run.out.splitlines()
    assert annotation.startswith(f"::error file=kube-apiserver.yaml,line={line},col={column},"
                                 "title=cluster-apiserver-anonymous-auth")
    (issue,) = json.loads((tmp_path / "cq.json").read_text())
    assert issue["check_name"] == "cluster-apiserver-anonymous-auth"
    assert issue["location"] == {"path": "kube-apiserver.yaml", "lines": {"begin": int(line)}}


def test_standard_input(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(SKIP_UNCHECKED)
    run = run_process(["cluster", "-", "--format", "json"], cwd=tmp_path, stdin=UNSAFE)
    assert run.code == 1, run.err
    (finding,) = [f for r in json.loads(run.out)["results"] for f in r["findings"]]
    assert finding["location"]["path"] == "<stdin>" and finding["rule"] == "cluster-apiserver-anonymous-auth"
    empty = run_process(["cluster", "-"], cwd=tmp_path, stdin="")
    assert empty.code == 1 and "no cluster configuration" in empty.out
