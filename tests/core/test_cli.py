"""The CLI contract: exit codes, the JSON report, JUnit shape, list/explain/version, stdin, outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gates import __version__
from gates.checks.manifests.rules import RULES
from tests.conftest import REPO, CliRun, require_corpus, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write


def _bad_spec() -> dict[str, Any]:
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    spec["hostNetwork"] = True
    return spec


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with a passing, a failing and a broken manifest."""
    (tmp_path / ".git").mkdir()
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    write(deploy, "good.yaml", wrap("Deployment", compliant_pod_spec(), name="api"))
    write(deploy, "web.yaml", wrap("Deployment", _bad_spec(), name="web"))
    (deploy / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: {\n")
    return tmp_path


def test_version(cli: Any) -> None:
    run: CliRun = cli(["--version"])
    assert run.code == 0 and run.out.strip() == f"gates {__version__}"


def test_exit_codes(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    good = write(tmp_path, "good.yaml", wrap("Pod", compliant_pod_spec()))
    bad = write(tmp_path, "bad.yaml", wrap("Pod", _bad_spec()))
    assert cli(["manifests", str(good)]).code == 0
    assert cli(["manifests", str(bad)]).code == 1
    assert cli(["manifests", str(bad), "--level", "baseline", "--fail-on", "critical"]).code == 1
    assert cli(["manifests", str(bad), "--fail-on", "nonsense"]).code == 2
    assert cli(["manifests", str(tmp_path / "missing.yaml")]).code == 2
    assert cli(["manifests", str(good), "--level", "strict"]).code == 2
    assert cli(["explain", "no-such-rule"]).code == 2
    assert cli(["no-such-command"]).code == 2


def test_fail_on_threshold_turns_findings_advisory(cli: Any, tmp_path: Path) -> None:
    spec = compliant_pod_spec()
    spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]  # medium
    path = write(tmp_path, "p.yaml", wrap("Pod", spec))
    run = cli(["manifests", str(path), "--fail-on", "high", "--format", "json"])
    assert run.code == 0
    report = json.loads(run.out)
    [finding] = report["results"][0]["findings"]
    assert finding["rule"] == "pss-host-ports" and finding["blocking"] is False
    assert report["results"][0]["outcome"] == "passed"


def test_json_contract(cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    run = cli(["run", "deploy", "--format", "json"])
    assert run.code == 1
    report = json.loads(run.out)
    assert report["schema"] == "gates/report/v1"
    assert report["outcome"] == "error"  # a broken file outranks the failure
    by_target = {r["target"]: r for r in report["results"]}
    assert set(by_target) == {"deploy/good.yaml#Deployment/shop/api", "deploy/web.yaml#Deployment/shop/web",
                              "deploy/broken.yaml"}
    assert by_target["deploy/good.yaml#Deployment/shop/api"]["outcome"] == "passed"
    broken = by_target["deploy/broken.yaml"]
    assert broken["outcome"] == "error" and broken["findings"] == []
    assert broken["error"].startswith("deploy/broken.yaml: line 4")
    web = by_target["deploy/web.yaml#Deployment/shop/web"]
    assert web["gate"] == "manifests" and web["outcome"] == "failed" and web["error"] is None
    for finding in web["findings"]:
        assert set(finding) >= {"rule", "severity", "message", "location"}
        assert set(finding["location"]) == {"path", "line", "column"}
        assert finding["location"]["path"] == "deploy/web.yaml"
        assert isinstance(finding["location"]["line"], int) and isinstance(finding["location"]["column"], int)
    assert {f["rule"] for f in web["findings"]} == {"pss-privileged", "pss-host-namespaces"}
    assert report["summary"]["results"] == {"passed": 1, "failed": 1, "error": 1, "skipped": 0}


def test_junit_shape(cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    out = project / "reports" / "gates.xml"
    run = cli(["run", "deploy", "--output", f"junit={out}", "--format", "json"])
    assert run.code == 1
    root = ET.parse(out).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["gates manifests"]
    cases = suites[0].findall("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == len(set(names)), "testcase names must be unique"
    for case in cases:
        assert case.get("classname") and case.get("file")
    by_name = {c.get("name"): c for c in cases}
    privileged = by_name["pss-privileged: deploy/web.yaml#Deployment/shop/web"]
    failure = privileged.find("failure")
    assert failure is not None and failure.text and "is privileged" in failure.text  # body, not just @message
    assert privileged.get("line") and privileged.get("file") == "deploy/web.yaml"
    broken = by_name["deploy/broken.yaml"].find("error")
    assert broken is not None and broken.text and "line 4" in broken.text
    passing = by_name["deploy/good.yaml#Deployment/shop/api"]
    assert list(passing) == []


def test_junit_validates_against_surefire_schema(cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xmlschema

    schema_path = REPO.parent / "shared" / "schemas" / "junit-10.xsd"
    if not schema_path.exists():
        pytest.skip(f"needs {schema_path}")
    monkeypatch.chdir(project)
    out = project / "junit.xml"
    cli(["run", "deploy", "--output", f"junit={out}"])
    tree = ET.parse(out)
    cases = tree.getroot().iter("testcase")
    for case in cases:  # file and line are the extensions GitLab and GitHub reporters read; Surefire lacks them
        assert case.attrib.pop("file")
        case.attrib.pop("line", None)
    xmlschema.XMLSchema(str(schema_path)).validate(tree)


def test_stdin(project: Path) -> None:
    text = (project / "deploy" / "web.yaml").read_text()
    run = run_process(["manifests", "-", "--format", "json"], cwd=project, stdin=text)
    assert run.code == 1
    [result] = json.loads(run.out)["results"]
    assert result["target"] == "<stdin>#Deployment/shop/web"
    assert result["findings"][0]["location"]["path"] == "<stdin>"


def test_list_and_explain(cli: Any) -> None:
    listing = cli(["list"])
    assert listing.code == 0
    for rule in RULES:
        assert rule.id in listing.out
    explained = cli(["explain", "pss-privileged"])
    assert explained.code == 0
    assert "privileged" in explained.out and "How to fix it" in explained.out
    wrong = cli(["explain", "pss-privilegd"])
    assert wrong.code == 2 and "did you mean pss-privileged" in wrong.err


def test_console_output_names_rule_file_line(cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    run = cli(["manifests", "deploy"])
    assert run.code == 1
    line = next(x for x in run.out.splitlines() if "pss-privileged" in x)
    assert "deploy/web.yaml:" in line and "critical" in line
    assert "\x1b[" not in run.out  # NO_COLOR respected
    assert run.out.rstrip().endswith("ERROR: a gate could not decide")


def test_internal_error_is_exit_3_with_traceback_only_when_verbose(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import gates.checks.manifests.gate as g\n"
        "def boom(options): raise RuntimeError('kaboom')\n"
        "g.scan = boom\n"
        "from gates.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    (tmp_path / "boom.py").write_text(script)
    import subprocess
    import sys

    for verbose in (False, True):
        args = [sys.executable, str(tmp_path / "boom.py"), "manifests", "."] + (["--verbose"] if verbose else [])
        proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, check=False,
                              env={"PYTHONPATH": str(REPO), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 3
        assert "kaboom" in proc.stderr
        assert ("Traceback" in proc.stderr) is verbose


def test_scan_imports_neither_sigstore_nor_requests(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", wrap("Pod", compliant_pod_spec()))
    code = (
        "import sys\nfrom gates.cli import main\n"
        f"main(['manifests', {str(path)!r}, '--format', 'junit', '--format', 'json'])\n"
        "main(['--version'])\n"
        "heavy = [m for m in ('sigstore', 'requests', 'cryptography') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in proc.stdout


def test_pss_corpus_through_the_cli(cli: Any, tmp_path: Path) -> None:
    root = require_corpus("pss")
    config = tmp_path / "gates.toml"
    config.write_text("[manifests]\nhardening = false\n")  # the fixtures run an untagged pause image
    run = cli(["manifests", str(root / "baseline" / "v1.37" / "pass"), "--level", "baseline", "--config", str(config)])
    assert run.code == 0, run.out
    with_hardening = cli(["manifests", str(root / "baseline" / "v1.37" / "pass"), "--level", "baseline"])
    assert with_hardening.code == 1 and "k8s-image-latest" in with_hardening.out
    run = cli(["manifests", str(root / "baseline" / "v1.37" / "fail"), "--level", "baseline", "--format", "json",
               "--config", str(config)])
    assert run.code == 1
    results = json.loads(run.out)["results"]
    assert results and all(r["outcome"] == "failed" for r in results)
