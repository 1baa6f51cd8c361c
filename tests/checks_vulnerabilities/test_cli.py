"""`gates vulnerabilities` and `gates run` as real processes: exit codes, and every output format.

The SARIF check needs ../shared/schemas/sarif-schema-2.1.0.json (the vendored schema); skipped without it.
"""

from __future__ import annotations

import importlib
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.checks_vulnerabilities.reports import grype, grype_match, trivy, trivy_vuln, write
from tests.conftest import REPO, run_process

SCHEMAS = REPO.parent / "shared" / "schemas"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the workspace root, so reports land inside it
    write(tmp_path, "trivy.json", trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0-r0", "3.1.4-r0"),
                                        trivy_vuln("CVE-2023-9999", "busybox", "1.36.0-r9", None, "LOW")))
    write(tmp_path, "grype.json", grype(grype_match("CVE-2024-1", "zlib", "1.2.13", "1.2.14", severity="Critical")))
    return tmp_path


def test_json_names_rule_resource_and_line(project: Path) -> None:
    run = run_process(["vulnerabilities", "trivy.json", "grype.json", "--format", "json"], cwd=project)
    assert run.code == 1 and run.err == ""
    data = json.loads(run.out)
    findings = [f for r in data["results"] for f in r["findings"]]
    by_resource = {f["resource"]: f for f in findings}
    assert set(by_resource) == {"CVE-2023-5363 libssl3", "CVE-2023-9999 busybox", "CVE-2024-1 zlib"}
    libssl = by_resource["CVE-2023-5363 libssl3"]
    assert libssl["rule"] == "vuln-fixable" and libssl["severity"] == "high"
    assert json.dumps(libssl).count("trivy.json") >= 1 and '"line": 20' in json.dumps(libssl)


def test_junit_and_sarif_files(project: Path) -> None:
    run = run_process(["vulnerabilities", "trivy.json", "--output", "junit=out/junit.xml",
                       "--output", "sarif=out/gates.sarif", "--format", "console"], cwd=project)
    assert run.code == 1, run.err
    assert "trivy.json:20:9" in run.out and "vuln-fixable" in run.out
    cases = list(ET.parse(project / "out" / "junit.xml").getroot().iter("testcase"))
    failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert failures and any("libssl3 3.1.0-r0 is affected by CVE-2023-5363" in (f.text or "") for f in failures
                            if f is not None)
    sarif = json.loads((project / "out" / "gates.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"vuln-fixable", "vuln-unfixed"} <= rules
    located = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in results}
    assert located["vuln-fixable"]["artifactLocation"]["uri"] == "trivy.json"
    assert located["vuln-fixable"]["region"]["startLine"] == 20
    assert located["vuln-fixable"]["region"]["startColumn"] == 9
    schema_path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not schema_path.exists():
        pytest.skip(f"needs {schema_path}")
    jsonschema: Any = importlib.import_module("jsonschema")
    jsonschema.validate(sarif, json.loads(schema_path.read_text(encoding="utf-8")))


def test_gates_run_takes_the_configured_reports_and_waivers(project: Path) -> None:
    write(project, "gates.toml", (
        'gates = ["vulnerabilities"]\n[vulnerabilities]\nreports = ["trivy.json", "grype.json"]\n'
        'ignore-unfixed = true\n'
        '[[waivers]]\nrule = "vuln-*"\nresource = "CVE-2023-5363 *"\nreason = "fixed image ships Friday"\n'
        'expires = 2099-01-01\n'
        '[[waivers]]\nrule = "vuln-fixable"\nresource = "* zlib"\nreason = "zlib is not linked"\n'
        'expires = 2099-01-01\n'))
    run = run_process(["run", "--format", "json"], cwd=project)
    assert run.code == 0, run.out + run.err
    findings = [f for r in json.loads(run.out)["results"] for f in r["findings"]]
    assert len(findings) == 2 and all(f["waived"] and not f["blocking"] for f in findings)


def test_usage_and_bad_input_exit_codes(project: Path) -> None:
    run = run_process(["vulnerabilities"], cwd=project)
    assert run.code == 2 and "no reports to judge" in run.err and "Traceback" not in run.err
    write(project, "broken.json", '{"SchemaVersion": 2, "Results": [')
    run = run_process(["vulnerabilities", "broken.json", "trivy.json", "--vex", "missing.vex.json"], cwd=project)
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert "broken.json: line 1, column 34: not JSON" in run.out
    assert "missing.vex.json: OpenVEX document refused: cannot read: No such file or directory" in run.out
    assert "CVE-2023-5363" in run.out  # the good report is still judged


def test_the_gate_imports_neither_sigstore_nor_requests(project: Path) -> None:
    code = ("import sys\nfrom gates.cli import main\n"
            "main(['vulnerabilities', 'trivy.json', '--format', 'json', '--format', 'junit', '--format', 'sarif'])\n"
            "print('HEAVY', [m for m in ('sigstore', 'requests', 'cryptography') if m in sys.modules])\n")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in proc.stdout, proc.stderr


def test_github_and_gitlab_codequality_formats(project: Path) -> None:
    run = run_process(["vulnerabilities", "trivy.json", "--format", "gitlab-codequality"], cwd=project)
    assert run.code == 1
    issues = json.loads(run.out)
    located = [i for i in issues if i.get("check_name") == "vuln-fixable"]
    assert located and located[0]["location"]["path"] == "trivy.json"
    assert located[0]["location"]["lines"]["begin"] == 20
    run = run_process(["vulnerabilities", "trivy.json", "--format", "github"], cwd=project)
    assert run.code == 1
    assert "file=trivy.json,line=20,col=9" in run.out and "CVE-2023-5363" in run.out
