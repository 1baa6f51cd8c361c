"""The policy over what scanners found: one result per report, a finding per vulnerable package.

Order of judgement for each vulnerability: `ignore-unfixed` and `min-severity` leave it out (counted
in the result's details); an OpenVEX statement, or the report's own CycloneDX analysis, may accept it
(`not_affected`, `fixed`) or annotate it; a fix younger than `fix-grace-days` accepts it until the
grace period ends. What is accepted stays in every output, marked with why; what is left is for the
engine's waivers and `--fail-on`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gates.checks.vulnerabilities import rules as R
from gates.checks.vulnerabilities.jsondoc import DEFAULT_MAX_BYTES
from gates.checks.vulnerabilities.record import ScannedReport, Vulnerability, text, token
from gates.checks.vulnerabilities.vex import SUPPRESSING, Statement, deciding
from gates.errors import InputError
from gates.model import Finding, Location, Result, Severity, Waiver, decided_result, error_result
from gates.paths import display_path
from gates.wording import counted

CDX_SUPPRESSING = {"not_affected": "not affected", "false_positive": "a false positive",
                   "resolved": "resolved", "resolved_with_pedigree": "resolved"}
"""CycloneDX `analysis.state`s that say the product is not exposed."""


@dataclass(frozen=True)
class VulnerabilityOptions:
    reports: tuple[str, ...]
    vex: tuple[str, ...] = ()
    ignore_unfixed: bool = False
    min_severity: Severity = Severity.INFO
    unrated_severity: Severity = Severity.HIGH
    fix_grace_days: int = 0
    max_report_bytes: int = DEFAULT_MAX_BYTES


def resource(vulnerability: Vulnerability) -> str:
    """What waivers match: `ADVISORY PACKAGE` (`CVE-2024-1 openssl`; `CVE-2024-1 *`, `* openssl` as globs)."""
    return f"{token(vulnerability.advisory)} {token(vulnerability.package)}"


def check_reports(options: VulnerabilityOptions, today: dt.date) -> list[Result]:
    """Every VEX document first (a broken one is an error result of its own), then one result per report."""
    from gates.checks.vulnerabilities import vex
    from gates.checks.vulnerabilities.reports import read_report

    results: list[Result] = []
    statements: list[Statement] = []
    for path in options.vex:
        shown = shown_path(path)
        try:
            statements.extend(vex.load(path, shown, options.max_report_bytes, first_order=len(statements)))
        except InputError as exc:
            results.append(error_result(R.GATE, shown, f"{shown}: OpenVEX document refused: {exc}",
                                        Location(shown)))
    for path in options.reports:
        shown = shown_path(path)
        try:
            report = read_report(path, options.max_report_bytes)
        except InputError as exc:
            results.append(error_result(R.GATE, shown, f"{shown}: {exc}", Location(shown)))
            continue
        results.append(judge(report, shown, options, statements, today))
    return results


def shown_path(path: str) -> str:
    """A report's path as people see it: relative to the working directory, control characters escaped."""
    return text(display_path(Path(path)), 4096)


def judge(report: ScannedReport, shown: str, options: VulnerabilityOptions, statements: Sequence[Statement],
          today: dt.date) -> Result:
    findings: list[Finding] = []
    unfixed_left = below = 0
    for vulnerability in report.vulnerabilities:
        severity = vulnerability.severity or options.unrated_severity
        if options.ignore_unfixed and vulnerability.fixed is None:
            unfixed_left += 1
            continue
        if vulnerability.severity is not None and vulnerability.severity < options.min_severity:
            below += 1
            continue
        findings.append(_finding(vulnerability, severity, report, shown, options, statements, today))
    details = list(report.details)
    details.append(f"{len(report.vulnerabilities)} vulnerabilities in the report: {len(findings)} judged"
                   + (f", {unfixed_left} without a fix left out (ignore-unfixed)" if unfixed_left else "")
                   + (f", {below} rated below {options.min_severity.value} left out (min-severity)" if below
                      else ""))
    if statements:
        applied = sum(1 for f in findings if any(n.startswith("OpenVEX") for n in f.notes))
        details.append(f"{counted(len(statements), 'OpenVEX statement')} read: {counted(applied, 'finding')}"
                       " decided by one")
    result = decided_result(R.GATE, f"{shown} ({report.image})", findings, Location(shown))
    return replace(result, details=tuple(details))


def _finding(vulnerability: Vulnerability, severity: Severity, report: ScannedReport, shown: str,
             options: VulnerabilityOptions, statements: Sequence[Statement], today: dt.date) -> Finding:
    line, column = vulnerability.position or (None, None)
    rule = R.FIXABLE if vulnerability.fixed is not None else R.UNFIXED
    fix = f"fixed in {vulnerability.fixed}" if vulnerability.fixed else "no fix published"
    rating = f"rated {vulnerability.rating}" if vulnerability.severity else (
        f"unrated ({vulnerability.rating or 'no severity'}): treated as {severity.value}")
    aliases = f" ({', '.join(vulnerability.aliases[:3])})" if vulnerability.aliases else ""
    message = (f"{vulnerability.image}: {vulnerability.package} {vulnerability.installed} is affected by"
               f" {vulnerability.advisory}{aliases}, {rating}: {fix}")
    notes = list(vulnerability.notes)
    waiver: Waiver | None = None
    statement = deciding(statements, vulnerability, report) if statements else None
    if statement is not None:
        notes.append(statement.describe())
        if statement.status in SUPPRESSING:
            waiver = Waiver(reason=statement.describe(), source=statement.source)
    elif vulnerability.analysis is not None:
        analysis = vulnerability.analysis
        said = f"CycloneDX analysis in the report: {analysis.state}" + (
            f" ({analysis.justification})" if analysis.justification else "") + (
            f": {analysis.detail}" if analysis.detail else "")
        notes.append(said)
        justified = analysis.justification or analysis.detail or analysis.state.startswith("resolved")
        if analysis.state in CDX_SUPPRESSING and justified:
            waiver = Waiver(reason=said, source=f"{shown}:{line}" if line else shown)
        elif analysis.state in CDX_SUPPRESSING:
            notes.append("the analysis gives no justification or detail: not accepted")
    if waiver is None:
        waiver = _grace(vulnerability, options, today, notes)
    return Finding(rule=rule, severity=severity, message=message, location=Location(shown, line, column),
                   resource=resource(vulnerability), waiver=waiver, notes=tuple(notes))


def _grace(vulnerability: Vulnerability, options: VulnerabilityOptions, today: dt.date,
           notes: list[str]) -> Waiver | None:
    """A fix published fewer than `fix-grace-days` ago: accepted until the grace period ends."""
    if options.fix_grace_days <= 0 or vulnerability.fixed is None:
        return None
    if vulnerability.fix_date is None:
        notes.append("the report gives no date for the fix: fix-grace-days does not apply")
        return None
    ends = vulnerability.fix_date + dt.timedelta(days=options.fix_grace_days)
    age = (today - vulnerability.fix_date).days
    if ends <= today:
        notes.append(f"fix published {vulnerability.fix_date} ({counted(age, 'day')} ago): past fix-grace-days"
                     f" ({options.fix_grace_days})")
        return None
    return Waiver(reason=f"fix published {vulnerability.fix_date} ({counted(age, 'day')} ago), within fix-grace-days"
                         f" ({options.fix_grace_days})", source="[vulnerabilities] fix-grace-days",
                  expires=ends - dt.timedelta(days=1))


