"""Every scanner report of the corpus read as its upstream tests expect: counts from expected.json.

Needs the third-party corpus (`scanner-reports/`, see its PROVENANCE.md); skipped without it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gates.checks.vulnerabilities import jsondoc
from gates.checks.vulnerabilities.reports import read_report
from gates.checks.vulnerabilities.sniff import detect
from gates.errors import InputError
from tests.conftest import require_corpus

READ = ("trivy-json", "grype-json", "gitlab-security-report")
"""Formats whose findings are one entry each; CycloneDX is checked per entry below."""


def _expected() -> dict[str, dict[str, Any]]:
    root = require_corpus("scanner-reports")
    data: dict[str, dict[str, Any]] = json.loads((root / "expected.json").read_text(encoding="utf-8"))["reports"]
    return data


def _root() -> Path:
    return require_corpus("scanner-reports")


def _by_format(*formats: str) -> list[str]:
    try:
        expected = _expected()
    except BaseException:  # collected without the corpus: the test itself skips
        return ["<corpus absent>"]
    return sorted(path for path, facts in expected.items() if facts["format"].startswith(formats))


@pytest.mark.parametrize("name", _by_format(*READ))
def test_report_counts_match_upstream(name: str) -> None:
    facts = _expected()[name]
    report = read_report(str(_root() / name), jsondoc.DEFAULT_MAX_BYTES)
    found = report.vulnerabilities
    assert len(found) == facts["findings"]
    assert Counter(v.rating.upper() for v in found) == Counter(facts["by_severity"])
    assert sum(1 for v in found if v.fixed is not None) == facts["with_fixed_version"]
    assert all(v.position is not None and v.advisory and v.package and v.installed for v in found)


def test_trivy_corpus_totals() -> None:
    """The 68 Trivy reports: all read, and the centos-7 trio shows what --ignore-unfixed and --severity do."""
    trivy = _by_format("trivy-json")
    assert len(trivy) == 68
    counts = {Path(n).name: read_report(str(_root() / n), jsondoc.DEFAULT_MAX_BYTES) for n in trivy}
    centos = counts["centos-7.json.golden"].vulnerabilities
    assert len(centos) == 3 and sum(v.fixed is not None for v in centos) == 2
    assert len(counts["centos-7-ignore-unfixed.json.golden"].vulnerabilities) == 2
    ubi = counts["ubi-7.json.golden"].vulnerabilities
    assert len(ubi) == 1 and ubi[0].fixed is None and ubi[0].rating == "LOW"


@pytest.mark.parametrize("name", _by_format("cyclonedx"))
def test_cyclonedx_counts(name: str) -> None:
    """Reports with `vulnerabilities` are read entry by entry; SBOMs without the key are refused, never clean."""
    facts = _expected()[name]
    path = _root() / name
    has_key = "vulnerabilities" in json.loads(path.read_text(encoding="utf-8"))
    if not has_key:
        with pytest.raises(InputError, match="SBOM without vulnerabilities"):
            read_report(str(path), jsondoc.DEFAULT_MAX_BYTES)
        assert facts["findings"] == 0
        return
    report = read_report(str(path), jsondoc.DEFAULT_MAX_BYTES)
    entries = {v.position for v in report.vulnerabilities}
    assert len(entries) == facts["findings"]
    with_fix = {v.position for v in report.vulnerabilities if v.fixed is not None}
    assert len(with_fix) == facts["with_recommendation"]
    states = Counter(v.analysis.state for v in {v.position: v for v in report.vulnerabilities}.values()
                     if v.analysis is not None)
    assert states == Counter(facts["analysis_states"])


@pytest.mark.parametrize("name", _by_format("sarif", "spdx", "openvex"))
def test_formats_not_read_are_refused_by_name(name: str) -> None:
    doc = jsondoc.load(str(_root() / name))
    with pytest.raises(InputError, match="not a vulnerability report this gate reads"):
        detect(doc)
