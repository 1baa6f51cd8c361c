"""Bad and hostile input: one line naming the file and the problem, `error`, never a pass; the rest still judged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gates.checks import GATES, load_config
from gates.engine import run
from gates.gate import RunFlags
from gates.model import Outcome, Report
from tests.checks_vulnerabilities.reports import grype, grype_match, trivy, trivy_vuln, write

GOOD = trivy(trivy_vuln("CVE-2023-5363", "libssl3", "3.1.0-r0", "3.1.4-r0"))

CASES: dict[str, tuple[str, str]] = {
    "empty": ("", "line 1, column 1: not JSON: Expecting value"),
    "truncated": (GOOD[: len(GOOD) // 2], "not JSON: "),
    "yaml": ("SchemaVersion: 2\nResults: []\n", "line 1, column 1: not JSON"),
    "duplicate-key": ('{"SchemaVersion": 2, "Results": [], "Results": [{"Vulnerabilities": [{}]}]}',
                      "line 1, column 1: not accepted as JSON: the object repeats the key 'Results'"),
    "nan": ('{"SchemaVersion": NaN, "Results": []}', "not accepted as JSON: NaN is not JSON"),
    "deep": ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply to parse"),
    "latin-1": ('{"SchemaVersion": 2, "ArtifactName": "caf\xe9"}', "line 1: not valid UTF-8 (byte 0xe9): not JSON"),
    "array": ("[]", "a JSON list, not a scanner report"),
    "unknown": ('{"hello": "world"}', "not a vulnerability report this gate reads (Trivy JSON, Grype JSON,"
                                      " GitLab container scanning, CycloneDX)"),
    "ambiguous": ('{"SchemaVersion": 2, "Results": [], "matches": [], "source": {}}',
                  "ambiguous: the report looks like Trivy JSON and Grype JSON; refused"),
    "trivy-v1": ('{"SchemaVersion": 1, "Results": []}', "Trivy SchemaVersion 1 is not read"),
    "trivy-results-not-array": ('{"SchemaVersion": 2, "Results": {}}', "line 1: report.Results must be an array"),
    "grype-no-name": (grype(grype_match("CVE-1", "a", "1", "2")).replace('"name": "a"', '"name": ""'),
                      "line 3: matches[].artifact.name must be a non-empty string"),
    "gitlab-sast": ('{"version": "15.0.7", "scan": {"type": "sast"}, "vulnerabilities": []}',
                    "a GitLab security report of scan.type 'sast', not container scanning: not read"),
    "gitlab-no-identifier": ('{"version": "15.0.7", "scan": {"type": "container_scanning"},\n"vulnerabilities":'
                             ' [{"id": "x", "identifiers": [], "location": {}}]}',
                             "line 2: vulnerabilities[] has no primary identifier (identifiers[0].value)"),
    "cyclonedx-sbom": ('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}',
                       "a CycloneDX 1.5 SBOM without vulnerabilities: nothing says it was scanned"),
    "openvex-as-report": ('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}',
                          "an OpenVEX document (pass it with --vex or [vulnerabilities] vex): not a vulnerability"),
}


def _judge(tmp_path: Path, names: list[str], extra: str = "") -> Report:
    listed = ", ".join(json.dumps(n) for n in names)
    config = write(tmp_path, "gates.toml", f"[vulnerabilities]\nreports = [{listed}]\n{extra}")
    loaded = load_config(config, env={})
    return run([GATES["vulnerabilities"].build_job(loaded, RunFlags())], today=loaded.today)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_report_is_one_line_error_and_the_good_one_is_still_judged(tmp_path: Path, case: str) -> None:
    content, problem = CASES[case]
    (tmp_path / "bad.json").write_bytes(content.encode("latin-1" if case == "latin-1" else "utf-8"))
    write(tmp_path, "good.json", GOOD)
    report = _judge(tmp_path, ["bad.json", "good.json"])
    bad, good = report.results
    assert bad.outcome is Outcome.ERROR and bad.error is not None
    assert "\n" not in bad.error and "bad.json: " in bad.error and problem in bad.error, bad.error
    assert good.outcome is Outcome.FAILED and len(good.findings) == 1


def test_report_over_the_size_limit(tmp_path: Path) -> None:
    write(tmp_path, "big.json", GOOD)
    (result,) = _judge(tmp_path, ["big.json"], "max-report-bytes = 100\n").results
    assert result.outcome is Outcome.ERROR
    assert (result.error or "").endswith("big.json: larger than the 100 byte limit (max-report-bytes)")


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo"])
def test_not_a_readable_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "report.json"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)  # never opened for a blocking read: the run would hang
    (result,) = _judge(tmp_path, ["report.json"]).results
    assert result.outcome is Outcome.ERROR
    expected = {"missing": "cannot read: No such file or directory", "directory": "not a regular file: not read",
                "fifo": "not a regular file: not read"}[kind]
    assert (result.error or "").endswith(f"report.json: {expected}")


def test_hostile_strings_are_escaped_and_bounded(tmp_path: Path) -> None:
    hostile = trivy(trivy_vuln("CVE-1\u001b[2J", "evil\npkg\u202e", "1" * 5000, "2\u0007"))
    write(tmp_path, "hostile.json", hostile)
    (result,) = _judge(tmp_path, ["hostile.json"]).results
    (finding,) = result.findings
    for text in (finding.message, finding.resource or ""):
        assert "\u001b" not in text and "\n" not in text and "\u202e" not in text and "\u0007" not in text
    assert finding.resource == "CVE-1\\u001b[2J evil_pkg\\u202e"
    assert len(finding.message) < 700 and "…" in finding.message


def test_no_reports_is_a_usage_error(tmp_path: Path) -> None:
    from gates.errors import UsageError

    config = write(tmp_path, "gates.toml", "[vulnerabilities]\n")
    with pytest.raises(UsageError, match="no reports to judge"):
        GATES["vulnerabilities"].build_job(load_config(config, env={}), RunFlags())


def test_a_hostile_file_name_is_escaped(tmp_path: Path) -> None:
    write(tmp_path, "evil\u001b[2Jname.json", "not json")
    (result,) = _judge(tmp_path, ["evil\u001b[2Jname.json"]).results
    assert result.outcome is Outcome.ERROR and "\u001b" not in (result.error or "") + result.target
    assert "evil\\u001b[2Jname.json: line 1, column 1: not JSON" in (result.error or "")
