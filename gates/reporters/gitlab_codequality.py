"""GitLab Code Quality JSON (the Code Climate issue subset GitLab reads) for merge request widgets.

A JSON array with one entry per active finding and one per target a gate could not decide. Waived
findings are left out: a Code Quality entry has no notion of an accepted risk, and listing it
would nag every merge request about a decision already taken (the JUnit and SARIF reports keep it).
GitLab drops entries failing its schema and de-duplicates by fingerprint, so every fingerprint is
unique within a report and stable across runs (line numbers are not part of it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gates.model import Finding, Location, Outcome, Report, Result, Severity
from gates.reporters import RenderContext
from gates.reporters.sarif import (
    UNDECIDED_RULE,
    finding_identity,
    forget_paths,
    repo_path,
    stable_keys,
    undecided_identity,
)

SEVERITY = {
    Severity.INFO: "info", Severity.LOW: "minor", Severity.MEDIUM: "major", Severity.HIGH: "critical",
    Severity.CRITICAL: "blocker",
}
"""gates severity -> Code Climate severity (info, minor, major, critical, blocker)."""


def _location(location: Location | None, fallback: str, root: Path) -> dict[str, Any]:
    if location is None:
        return {"path": fallback, "lines": {"begin": 1}}
    path = repo_path(location.path, root) or location.path
    return {"path": path, "lines": {"begin": location.line if location.line and location.line > 0 else 1}}


def _finding(finding: Finding, result: Result, context: RenderContext, fingerprint: str) -> dict[str, Any]:
    rule = context.rules.get(finding.rule)
    description = finding.message
    if finding.resource:
        description += f" [{finding.resource}]"
    entry: dict[str, Any] = {
        "type": "issue",
        "check_name": finding.rule,
        "description": description,
        "categories": ["Security"],
        "severity": SEVERITY[finding.severity],
        "fingerprint": fingerprint,
        "location": _location(finding.location, result.target, context.root),
        "engine_name": "gates",
    }
    if rule is not None:
        entry["content"] = {"body": f"{rule.title}. {rule.rationale}\n\nHow to fix: {rule.remediation}"}
    return entry


def _undecided(result: Result, context: RenderContext, fingerprint: str) -> dict[str, Any]:
    return {
        "type": "issue",
        "check_name": UNDECIDED_RULE,
        "description": f"{result.gate} could not decide {result.target}: {result.error or 'unknown error'}",
        "categories": ["Security"],
        "severity": "critical",
        "fingerprint": fingerprint,
        "location": _location(result.location, result.target, context.root),
        "engine_name": "gates",
    }


def as_list(report: Report, context: RenderContext) -> list[dict[str, Any]]:
    """The report's entries as plain data (the tests validate each against GitLab's schema)."""
    forget_paths()
    pairs = [(f, r) for r in report.results for f in r.findings if f.waiver is None]
    undecided = [r for r in report.results if r.outcome is Outcome.ERROR]
    keys = stable_keys([finding_identity(f, context.root) for f, _ in pairs]
                       + [undecided_identity(r, context.root) for r in undecided])
    # md5-length hex is what Code Climate engines emit; 128 bits of sha256 keep collisions out of reach.
    keys = [k[:32] for k in keys]
    entries = [_finding(f, r, context, k) for (f, r), k in zip(pairs, keys[:len(pairs)], strict=True)]
    entries += [_undecided(r, context, k) for r, k in zip(undecided, keys[len(pairs):], strict=True)]
    return entries


def render(report: Report, context: RenderContext) -> str:
    return json.dumps(as_list(report, context), indent=2, ensure_ascii=False) + "\n"
