"""The JSON report: the stable contract (`gates/report/v1`) that other tools and tests read.

Its JSON Schema ships in the package as `gates/schemas/report-v1.json` (`schema_text()` reads it), so
a consumer can validate a report against the exact version of gates that wrote it.
"""

from __future__ import annotations

import json

from gates.model import BaselineMark, Finding, Location, Report, Result, Severity, blocks
from gates.reporters import RenderContext
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

SCHEMA = "gates/report/v1"
SCHEMA_FILE = "schemas/report-v1.json"
"""The JSON Schema of `SCHEMA`, a resource of the `gates` package."""


def schema_text() -> str:
    """The report's JSON Schema as shipped with this version of gates."""
    from importlib.resources import files

    return files("gates").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def _location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "column": location.column}


def _finding(finding: Finding, fail_on: Severity) -> dict[str, Any]:
    """One finding's entry; a large report has tens of thousands, so nothing here is built twice."""
    waiver = finding.waiver
    entry = {
        "rule": finding.rule,
        "severity": finding.severity._value_,  # `.value` is a descriptor call
        "message": finding.message,
        "location": _location(finding.location),
        "resource": finding.resource,
        "container": finding.container,
        "blocking": blocks(finding, fail_on),
        "waived": None if waiver is None else {
            "reason": waiver.reason,
            "source": waiver.source,
            "expires": waiver.expires.isoformat() if waiver.expires else None,
        },
        "notes": finding.notes,  # a tuple is encoded as the same array as a list
    }
    if finding.baseline is not None:
        entry["baseline"] = _baseline(finding.baseline)
    return entry


def _baseline(mark: BaselineMark) -> dict[str, Any]:
    return {"state": mark.state, "fingerprint": mark.fingerprint,
            "since": mark.since.isoformat() if mark.since else None, "expired": mark.expired}


def _result(result: Result, fail_on: Severity) -> dict[str, Any]:
    return {
        "gate": result.gate,
        "target": result.target,
        "outcome": result.outcome._value_,
        "error": result.error,
        "location": _location(result.location),
        "details": result.details,  # a tuple: the same array
        "findings": [_finding(f, fail_on) for f in result.findings],
    }


def as_dict(report: Report, context: RenderContext) -> dict[str, Any]:
    return _document(report, context, [_result(r, report.fail_on) for r in report.results])


def _document(report: Report, context: RenderContext, results: list[dict[str, Any]]) -> dict[str, Any]:
    findings = [f for r in report.results for f in r.findings]
    return {
        "schema": SCHEMA,
        "tool": {"name": "gates", "version": context.version},
        "generated": report.generated.isoformat(timespec="seconds"),
        "outcome": report.outcome.value,
        "fail_on": report.fail_on.value,
        "gates": list(report.gates),
        "summary": {
            "results": report.counts(),
            "findings": len(findings),
            "blocking": sum(1 for f in findings if blocks(f, report.fail_on)),
            "waived": sum(1 for f in findings if f.waiver is not None),
            **({"baselined": sum(1 for f in findings if f.baselined)}
               if any(f.baseline is not None for f in findings) else {}),
        },
        "results": results,
        "internal_errors": list(report.internal_errors),
        **({} if report.baseline_absent is None else {"baseline_absent": [
            {"fingerprint": e.fingerprint, "since": e.since.isoformat(), "gate": e.gate, "rule": e.rule,
             "resource": e.resource} for e in report.baseline_absent]}),
        **({} if report.shard is None else {"shard": {
            "index": report.shard.index, "total": report.shard.total, "config": report.shard.config}}),
    }


_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
"""`json.dumps(..., separators=(",", ":"))` without a new encoder per call; `encode` runs the C encoder.
ensure_ascii (the default) lets `text.json_shows_as_is` spare the cleaning pass; each tree encoded is
built fresh, never a cycle, so the encoder need not track every container it enters."""


def render_pieces(report: Report, context: RenderContext) -> list[str]:
    """The report exactly as `json.dumps(as_dict(...))` writes it, in pieces: what comes before the
    results, one piece per result, the rest.

    A large report is never one string nor one tree of dicts (a 10,000-document scan's was ~50 MB at
    its peak). Each piece starts with `{`, `,` or `]` and the text has no line break but its last, so
    no workflow command can span two pieces or start one: escaping each on its own escapes the whole.
    """
    encode = _ENCODER.encode
    members = _document(report, context, [])
    names = list(members)
    at = names.index("results")
    head = encode({name: members[name] for name in names[:at]})[:-1]  # `{...` without its `}`
    tail = encode({name: members[name] for name in names[at + 1:]})[1:]  # `...}` without its `{`
    pieces = [head + ("," if at else "") + '"results":[']
    pieces.extend(("," if index else "") + encode(_result(result, report.fail_on))
                  for index, result in enumerate(report.results))
    pieces.append("]" + ("," + tail if tail != "}" else tail) + "\n")
    return pieces


def render(report: Report, context: RenderContext) -> str:
    return "".join(render_pieces(report, context))
