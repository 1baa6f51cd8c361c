"""SARIF 2.1.0 for GitHub code scanning and any other SARIF viewer.

One run per report; a `reportingDescriptor` per rule of the gates that ran (help text from the rule
registry), results with repo-relative URIs under `%SRCROOT%`, line and column, and a
`partialFingerprints` entry that survives lines moving, so code scanning keeps tracking an alert.
Targets a gate could not decide become both an error-level result of the synthetic rule
`gates-undecided` (so they are as visible as a violation) and a tool execution notification.
Waived findings keep their result with an accepted external suppression carrying the reason.

The path helpers here are shared by the other CI reporters, so every format agrees on paths.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from gates.model import BaselineEntry, Finding, Location, Outcome, Report, Result, Severity, blocks
from gates.reporters import RenderContext
from gates.rules import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
UNDECIDED_RULE = "gates-undecided"
"""Rule ID of results for targets a gate could not decide (its `error` outcome)."""
FINGERPRINT_KEY = "gatesFinding/v1"
BASELINE_FINGERPRINT_KEY = "gatesBaseline/v1"
"""The fingerprint of a baseline entry (`gates.baseline.fingerprint`), on results that are `absent`."""

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
"""GitHub's `security-severity` score bands: >9 critical, 7-8.9 high, 4-6.9 medium, 0.1-3.9 low."""


def repo_path(path: str, root: Path) -> str | None:
    """`path` as a POSIX path relative to `root`, or None when it is not a file inside the root.

    Gates report paths as given on the command line (relative to the working directory); image
    references and `<stdin>` are not files, and a path outside the root cannot be shown by code
    scanning or a merge request, so callers fall back to a logical location for those.
    """
    if not path or path.startswith("<") or path == "-":
        return None
    return _repo_path(path, root, os.getcwd())


def forget_paths() -> None:
    """Start a render afresh: files may have moved since the last one (tests render many in one process)."""
    _repo_path.cache_clear()


@functools.lru_cache(maxsize=65536)
def _repo_path(path: str, root: Path, cwd: str) -> str | None:
    """Memoised within a render: every finding of a file asks for its path, and resolving it walks the
    file system (at 2,000 documents, 15,756 calls were 1 s of a 1.9 s SARIF run)."""
    candidate = Path(path)
    absolute = candidate if candidate.is_absolute() else Path(cwd) / candidate
    if not absolute.exists() and _looks_like_image(path):
        return None
    try:
        relative = absolute.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    text = PurePosixPath(*relative.parts).as_posix()
    return None if text in ("", ".") else text


def _looks_like_image(path: str) -> bool:
    """An image reference (`registry/repo:tag`, `repo@sha256:...`) rather than a relative file path."""
    return "@" in path or ":" in path.rsplit("/", 1)[-1] or ":" in path.split("/", 1)[0]


def stable_keys(items: Iterable[tuple[str, ...]]) -> list[str]:
    """A fingerprint per item from its identifying parts, unique within the run and stable across runs.

    Line numbers are left out on purpose so an alert survives code moving; identical parts get an
    occurrence suffix in order, so two equal findings in one file still have distinct fingerprints.
    """
    seen: dict[str, int] = {}
    keys: list[str] = []
    for parts in items:
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        count = seen.get(digest, 0)
        seen[digest] = count + 1
        keys.append(digest if count == 0 else hashlib.sha256(f"{digest}:{count}".encode()).hexdigest())
    return keys


def finding_identity(finding: Finding, root: Path) -> tuple[str, ...]:
    """What identifies a finding across runs: rule, file (repo-relative), resource, container, message."""
    where = repo_path(finding.location.path, root) or finding.location.path
    return ("finding", finding.rule, where, finding.resource or "", finding.container or "", finding.message)


def undecided_identity(result: Result, root: Path) -> tuple[str, ...]:
    where = repo_path(result.location.path, root) if result.location else None
    return ("undecided", result.gate, result.target, where or "")


def _level(severity: Severity) -> str:
    if severity >= Severity.HIGH:
        return "error"
    return "warning" if severity >= Severity.MEDIUM else "note"


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_text = f"{rule.rationale}\n\nHow to fix: {rule.remediation}"
    help_markdown = f"{rule.rationale}\n\n**How to fix:** {rule.remediation}"
    if rule.reference:
        help_markdown += f"\n\nReference: <{rule.reference}>"
    tags = ["security", "supply-chain", rule.gate] + ([rule.level] if rule.level else [])
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("_", "-").split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _level(rule.severity)},
        "properties": {"tags": tags, "security-severity": SECURITY_SEVERITY[rule.severity],
                       "precision": "very-high", "problem.severity": _problem_severity(rule.severity)},
    }
    if rule.reference:
        descriptor["helpUri"] = rule.reference
    return descriptor


def _problem_severity(severity: Severity) -> str:
    return {"error": "error", "warning": "warning", "note": "recommendation"}[_level(severity)]


def _unknown_rule(rule_id: str) -> dict[str, Any]:
    return {"id": rule_id, "shortDescription": {"text": rule_id},
            "help": {"text": f"See `gates explain {rule_id}`."}}


_UNDECIDED_DESCRIPTOR: dict[str, Any] = {
    "id": UNDECIDED_RULE,
    "name": "GatesUndecided",
    "shortDescription": {"text": "A gate could not decide"},
    "fullDescription": {"text": "The gate could not check this target (unreadable file, invalid YAML,"
                        " unreachable registry, ...). An undecided target fails the run like a violation,"
                        " because an unchecked artifact must not pass a gate."},
    "help": {"text": "Fix the cause named in the message (the file, the network, the credentials) and run"
             " the gate again."},
    "defaultConfiguration": {"level": "error"},
    "properties": {"tags": ["security", "supply-chain"], "security-severity": "7.0"},
}


def _physical(location: Location | None, root: Path) -> dict[str, Any] | None:
    if location is None:
        return None
    uri = repo_path(location.path, root)
    if uri is None:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(uri), "uriBaseId": SRCROOT}}
    if location.line is not None and location.line >= 1:
        region: dict[str, Any] = {"startLine": location.line}
        if location.column is not None and location.column >= 1:
            region["startColumn"] = location.column
        physical["region"] = region
    return physical


def _locations(location: Location | None, logical_name: str | None, root: Path) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {}
    physical = _physical(location, root)
    if physical is not None:
        entry["physicalLocation"] = physical
    if logical_name or (physical is None and location is not None):
        entry["logicalLocations"] = [{"fullyQualifiedName": logical_name or (location.path if location else ""),
                                      "kind": "resource"}]
    return [entry] if entry else []


def _finding_text(finding: Finding) -> str:
    text = finding.message
    if finding.resource:
        text += f" [{finding.resource}]"
    for note in finding.notes:
        text += f" ({note})"
    return text


def _finding_result(finding: Finding, result: Result, report: Report, rule_index: dict[str, int],
                    fingerprint: str, root: Path) -> dict[str, Any]:
    # At or above fail-on it is an error (a waiver adds a suppression, it does not lower the level);
    # below fail-on it is advisory and never shown as an error.
    if finding.severity >= report.fail_on:
        level = "error"
    else:
        level = "warning" if finding.severity >= Severity.MEDIUM else "note"
    sarif: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": level,
        "message": {"text": _finding_text(finding)},
        "locations": _locations(finding.location, finding.resource, root),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {
            "gate": result.gate, "target": result.target, "severity": finding.severity.value,
            "blocking": blocks(finding, report.fail_on),
            **({"container": finding.container} if finding.container else {}),
        },
    }
    if finding.baseline is not None:  # SARIF's own words: new, or unchanged since the baseline
        sarif["baselineState"] = finding.baseline.state
        if finding.baseline.since is not None:
            sarif["properties"]["baselinedSince"] = finding.baseline.since.isoformat()
            sarif["properties"]["baselineExpired"] = finding.baseline.expired
    if finding.waiver is not None:
        waiver = finding.waiver
        until = f" (until {waiver.expires.isoformat()})" if waiver.expires else ""
        sarif["suppressions"] = [{"kind": "external", "status": "accepted",
                                  "justification": f"{waiver.reason}{until} — {waiver.source}"}]
    return sarif


def _undecided_result(result: Result, rule_index: dict[str, int], fingerprint: str,
                      root: Path) -> dict[str, Any]:
    return {
        "ruleId": UNDECIDED_RULE,
        "ruleIndex": rule_index[UNDECIDED_RULE],
        "level": "error",
        "message": {"text": f"{result.gate} could not decide {result.target}: {result.error or 'unknown error'}"},
        "locations": _locations(result.location, result.target, root),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"gate": result.gate, "target": result.target, "outcome": result.outcome.value},
    }


def _absent_result(entry: BaselineEntry, rule_index: dict[str, int]) -> dict[str, Any]:
    """A baselined finding no longer found: SARIF's `absent`, so a viewer can show what was paid off."""
    return {
        "ruleId": entry.rule,
        "ruleIndex": rule_index[entry.rule],
        "kind": "pass",
        "level": "none",
        "baselineState": "absent",
        "message": {"text": f"no longer found: {entry.rule} on {entry.resource} (in the baseline since"
                            f" {entry.since.isoformat()})"},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": entry.resource, "kind": "resource"}]}],
        "partialFingerprints": {BASELINE_FINGERPRINT_KEY: entry.fingerprint},
        "properties": {"gate": entry.gate, "baselinedSince": entry.since.isoformat()},
    }


def _notification(result: Result, root: Path) -> dict[str, Any]:
    level = "error" if result.outcome is Outcome.ERROR else "note"
    verb = "could not decide" if result.outcome is Outcome.ERROR else "skipped"
    note: dict[str, Any] = {
        "level": level,
        "message": {"text": f"{result.gate} {verb} {result.target}: {result.error or ''}".rstrip(": ")},
        "descriptor": {"id": UNDECIDED_RULE if result.outcome is Outcome.ERROR else "gates-skipped"},
    }
    locations = _locations(result.location, result.target, root)
    if locations:
        note["locations"] = locations
    return note


def as_dict(report: Report, context: RenderContext) -> dict[str, Any]:
    """The SARIF log as plain data (the tests validate it against the OASIS schema)."""
    forget_paths()
    root = context.root
    gates = report.gates or tuple(dict.fromkeys(r.gate for r in report.results))
    descriptors: list[dict[str, Any]] = [_rule_descriptor(r) for r in context.rules.values() if r.gate in gates]
    known = {d["id"] for d in descriptors}
    gone = report.baseline_absent or ()
    for rule_id in dict.fromkeys([*(f.rule for r in report.results for f in r.findings), *(e.rule for e in gone)]):
        if rule_id not in known:
            rule = context.rules.get(rule_id)
            descriptors.append(_rule_descriptor(rule) if rule else _unknown_rule(rule_id))
            known.add(rule_id)
    descriptors.append(_UNDECIDED_DESCRIPTOR)
    rule_index = {d["id"]: i for i, d in enumerate(descriptors)}

    pairs = [(f, r) for r in report.results for f in r.findings]
    undecided = [r for r in report.results if r.outcome is Outcome.ERROR]
    keys = stable_keys([finding_identity(f, root) for f, _ in pairs]
                       + [undecided_identity(r, root) for r in undecided])
    finding_keys, undecided_keys = keys[:len(pairs)], keys[len(pairs):]
    results = [_finding_result(f, r, report, rule_index, k, root) for (f, r), k in zip(pairs, finding_keys,
                                                                                         strict=True)]
    results += [_undecided_result(r, rule_index, k, root) for r, k in zip(undecided, undecided_keys, strict=True)]
    results += [_absent_result(e, rule_index) for e in gone]

    notifications = [_notification(r, root) for r in report.results
                     if r.outcome in (Outcome.ERROR, Outcome.SKIPPED)]
    notifications += [{"level": "error", "message": {"text": f"internal error in {(problem.splitlines() or [''])[0]}"},
                       "descriptor": {"id": "gates-internal-error"}} for problem in report.internal_errors]
    invocation: dict[str, Any] = {
        "executionSuccessful": not report.internal_errors,
        "endTimeUtc": report.generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gates",
                "version": context.version,
                "semanticVersion": context.version,
                "rules": descriptors,
            }},
            "automationDetails": {"id": "gates/" + "+".join(gates) + "/"},
            "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri().rstrip("/") + "/"}},
            "invocations": [invocation],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def render(report: Report, context: RenderContext) -> str:
    # Compact, so that the C encoder writes it: `indent` forces json's pure-Python one, which took 2 of a
    # 2,000-document SARIF run's 2.5 s (and code scanning's upload limit counts bytes).
    return json.dumps(as_dict(report, context), ensure_ascii=False, separators=(",", ":")) + "\n"
