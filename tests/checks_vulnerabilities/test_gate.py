"""The vulnerabilities gate's policy, through the registry and the engine as `gates run` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gates.checks import GATES, load_config
from gates.engine import run
from gates.gate import RunFlags
from gates.model import Outcome, Report, Result
from tests.checks_vulnerabilities.reports import grype, grype_match, trivy, trivy_vuln, write
from tests.support.rule_cases import expect_findings, gate_report

GATE = "vulnerabilities"
REPORT = {"reports": '["input.json"]'}


def _run(tmp_path: Path, text: str, config: str = "") -> Report:
    return gate_report(tmp_path, text, gate=GATE, filename="input.json",
                       config=f'[vulnerabilities]\nreports = ["input.json"]\n{config}')


def _only(report: Report) -> Result:
    results = [r for r in report.results if r.target.startswith(str(Path("input.json")))
               or "input.json" in r.target]
    assert len(results) == 1, report.results
    return results[0]


def test_fixable_and_unfixed_rules_point_at_the_entry(tmp_path: Path) -> None:
    text = trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0-r0", "3.1.4-r0"),
                 trivy_vuln("CVE-2023-9999", "busybox", "1.36.0-r9", None, "MEDIUM"))
    expect_findings(tmp_path, text, ("vuln-fixable", "CVE-2023-5363 libssl3", "20:9"),
                    ("vuln-unfixed", "CVE-2023-9999 busybox", "28:9"), gate=GATE, filename="input.json",
                    options=REPORT)


def test_finding_names_image_package_versions_and_advisory(tmp_path: Path) -> None:
    result = _only(_run(tmp_path, trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0-r0", "3.1.4-r0"))))
    assert result.outcome is Outcome.FAILED
    (finding,) = result.findings
    assert finding.message == ("registry.example/shop/web:1.4: libssl3 3.1.0-r0 is affected by CVE-2023-5363,"
                               " rated HIGH: fixed in 3.1.4-r0")
    assert finding.severity.value == "high"


def test_ignore_unfixed_and_min_severity_leave_out_and_count(tmp_path: Path) -> None:
    text = trivy(trivy_vuln("CVE-1", "a", "1", "2", "LOW"), trivy_vuln("CVE-2", "b", "1", None, "CRITICAL"),
                 trivy_vuln("CVE-3", "c", "1", "2", "CRITICAL"))
    result = _only(_run(tmp_path, text, 'ignore-unfixed = true\nmin-severity = "medium"\n'))
    assert [f.resource for f in result.findings] == ["CVE-3 c"]
    assert any("1 without a fix left out (ignore-unfixed), 1 rated below medium left out" in d
               for d in result.details)


def test_unrated_is_high_unless_configured(tmp_path: Path) -> None:
    text = trivy(trivy_vuln("GMS-2022-20", "distribution", "2.7.1", "2.8.0", "UNKNOWN"))
    (finding,) = _only(_run(tmp_path, text)).findings
    assert finding.severity.value == "high" and "unrated (UNKNOWN): treated as high" in finding.message
    (finding,) = _only(_run(tmp_path, text, 'unrated-severity = "low"\n')).findings
    assert finding.severity.value == "low"


def test_fail_on_is_the_threshold(tmp_path: Path) -> None:
    text = trivy(trivy_vuln("CVE-1", "a", "1", "2", "MEDIUM"))
    report = gate_report(tmp_path, text, gate=GATE, filename="input.json",
                         config='fail-on = "high"\n[vulnerabilities]\nreports = ["input.json"]\n')
    result = _only(report)
    assert result.outcome is Outcome.PASSED and len(result.findings) == 1  # advisory, still shown


@pytest.mark.parametrize(("resource", "waived"), [
    ("CVE-2023-5363 *", {"CVE-2023-5363 libssl3", "CVE-2023-5363 libcrypto3"}),
    ("* libssl3", {"CVE-2023-5363 libssl3", "CVE-2024-0727 libssl3"}),
    ("CVE-2023-5363 libssl3", {"CVE-2023-5363 libssl3"}),
])
def test_waivers_per_advisory_and_per_package(tmp_path: Path, resource: str, waived: set[str]) -> None:
    text = trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0", "3.1.4"),
                 trivy_vuln("CVE-2023-5363", "libcrypto3", "3.1.0", "3.1.4"),
                 trivy_vuln("CVE-2024-0727", "libssl3", "3.1.0", "3.1.5"))
    report = gate_report(tmp_path, text, gate=GATE, filename="input.json", config=(
        '[vulnerabilities]\nreports = ["input.json"]\n'
        f'[[waivers]]\nrule = "vuln-*"\nresource = "{resource}"\nreason = "patched in the next release"\n'
        'expires = 2099-01-01\n'))
    result = _only(report)
    assert {f.resource for f in result.findings if f.waiver} == waived
    assert result.outcome is Outcome.FAILED  # the third finding still blocks in every case


def test_an_expired_waiver_says_so_and_waives_nothing(tmp_path: Path) -> None:
    report = gate_report(tmp_path, trivy(trivy_vuln("CVE-1", "a", "1", "2")), gate=GATE, filename="input.json",
                         config=('[vulnerabilities]\nreports = ["input.json"]\n[[waivers]]\nrule = "vuln-fixable"\n'
                                 'resource = "CVE-1 a"\nreason = "r"\nexpires = 2020-01-01\n'))
    (finding,) = _only(report).findings
    assert finding.waiver is None and "expired on 2020-01-01" in finding.notes[0]


def test_fix_grace_days_by_the_reports_fix_date(tmp_path: Path) -> None:
    text = grype(grype_match("CVE-2025-1", "openssl", "3.0.11-1", "3.0.15-1", fix_date="2025-06-10"),
                 grype_match("CVE-2025-2", "zlib", "1.2.13", "1.2.14", fix_date="2025-04-01"),
                 grype_match("CVE-2025-3", "curl", "7.88", "7.89"))
    write(tmp_path, "input.json", text)
    config = write(tmp_path, "gates.toml", '[vulnerabilities]\nreports = ["input.json"]\nfix-grace-days = 30\n')
    loaded = load_config(config, env={"GATES_NOW": "2025-06-20"})
    report = run([GATES[GATE].build_job(loaded, RunFlags())], today=loaded.today)
    findings = {f.resource: f for f in _only(report).findings}
    assert report.results[0].outcome is Outcome.FAILED
    young = findings["CVE-2025-1 openssl"]
    assert young.waiver is not None and str(young.waiver.expires) == "2025-07-09"
    assert findings["CVE-2025-2 zlib"].waiver is None
    assert "past fix-grace-days (30)" in findings["CVE-2025-2 zlib"].notes[0]
    assert findings["CVE-2025-3 curl"].waiver is None
    assert "no date for the fix" in findings["CVE-2025-3 curl"].notes[0]


def test_report_with_a_wrong_type_is_an_error_naming_the_line(tmp_path: Path) -> None:
    text = trivy(trivy_vuln("CVE-1", "a", "1", "2")).replace('"PkgName": "a"', '"PkgName": 7')
    result = _only(_run(tmp_path, text))
    assert result.outcome is Outcome.ERROR
    assert (result.error or "").endswith("input.json: line 20: Vulnerabilities[].PkgName must be a string")


def test_cyclonedx_analysis_in_the_report(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"bom-ref": "pkg:npm/lodash@4.17.20", "type": "library", "name": "lodash", "version": "4.17.20",
         "purl": "pkg:npm/lodash@4.17.20"}], "vulnerabilities": [
        {"id": "CVE-2021-23337", "ratings": [{"severity": "high"}], "affects": [{"ref": "pkg:npm/lodash@4.17.20"}],
         "recommendation": "Upgrade lodash to version 4.17.21",
         "analysis": {"state": "not_affected", "justification": "code_not_reachable"}},
        {"id": "CVE-2020-28500", "ratings": [{"severity": "medium"}], "affects": [{"ref": "pkg:npm/lodash@4.17.20"}],
         "analysis": {"state": "not_affected"}}]}
    result = _only(_run(tmp_path, json.dumps(bom, indent=1)))
    first, second = result.findings
    assert first.waiver is not None and "not_affected (code_not_reachable)" in first.waiver.reason
    assert first.message.endswith("fixed in 4.17.21")
    assert second.waiver is None and "no justification or detail: not accepted" in second.notes[-1]
    assert result.outcome is Outcome.FAILED


def test_the_file_name_is_not_believed(tmp_path: Path) -> None:
    """A Trivy report named like SARIF is read as Trivy; a SARIF file named like Trivy is refused."""
    trivy_text = trivy(trivy_vuln("CVE-1", "a", "1", "2"))
    report = gate_report(tmp_path, trivy_text, gate=GATE, filename="results.sarif",
                         config='[vulnerabilities]\nreports = ["results.sarif"]\n')
    assert report.results[0].outcome is Outcome.FAILED and "Trivy JSON" in report.results[0].details[0]
    sarif = json.dumps({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": []})
    report = gate_report(tmp_path, sarif, gate=GATE, filename="trivy.json",
                         config='[vulnerabilities]\nreports = ["trivy.json"]\n')
    assert report.results[0].outcome is Outcome.ERROR and "SARIF" in (report.results[0].error or "")
