"""Read a JSON report (`gates/report/v1`) back into a `Report`, for `gates merge`.

A report file comes from another job's artifacts, which a pull request can write: it is read bounded,
checked field by field against what `gates/schemas/report-v1.json` says (every key known, every type
and value as the schema allows), and cross-checked where it can be (its summary, outcome and each
finding's `blocking` must be what its own results imply), so a report edited by hand is refused
rather than believed. Everything is refused with one line naming the file and the JSON path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gates.errors import InputError
from gates.model import (
    NEW,
    UNCHANGED,
    BaselineEntry,
    BaselineMark,
    Finding,
    Location,
    Outcome,
    Report,
    Result,
    Severity,
    ShardStamp,
    Waiver,
    blocks,
)

SCHEMA = "gates/report/v1"
MAX_REPORT_BYTES = 512 * 1024 * 1024
"""A report of 100,000 results with findings stays far below this; a larger file is refused unread."""

_GATE = re.compile(r"[a-z][a-z0-9-]*")
_GENERATED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+00:00|Z)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

T = TypeVar("T")


@dataclass(frozen=True)
class ReadReport:
    """A report as read: the `Report` and what the reporters do not carry (which gates wrote it)."""

    report: Report
    version: str
    source: str
    """The file, as named on the command line."""


class _Refused(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or '(top)'}: {problem}")


def read(path: Path, shown: str, max_bytes: int = MAX_REPORT_BYTES) -> ReadReport:
    """The report in `path`; `InputError` naming `shown` for anything that is not a valid v1 report."""
    from gates.targets.files import NotRegularFile, read_regular

    try:
        data = read_regular(path, max_bytes + 1)
    except NotRegularFile as exc:
        raise InputError(f"{shown}: {exc}, not a regular file: not read") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise InputError(f"{shown}: larger than the {max_bytes} byte limit of a report: not read")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split("\n")[0]
        raise InputError(f"{shown}: not a JSON document: {reason}") from None
    try:
        report, version = parse(document)
    except _Refused as exc:
        raise InputError(f"{shown}: not a gates JSON report ({SCHEMA}): {exc}") from None
    return ReadReport(report, version, shown)


def parse(document: Any) -> tuple[Report, str]:
    """The report a parsed JSON document holds, and the version of gates that wrote it."""
    top = _object(document, "", ("schema", "tool", "generated", "outcome", "fail_on", "gates", "summary", "results",
                                 "internal_errors"), ("shard", "baseline_absent"))
    if top["schema"] != SCHEMA:
        raise _Refused("schema", f"expected {SCHEMA!r}, found {_shown(top['schema'])}")
    tool = _object(top["tool"], "tool", ("name", "version"))
    if tool["name"] != "gates":
        raise _Refused("tool/name", f"expected 'gates', found {_shown(tool['name'])}")
    version = _string(tool["version"], "tool/version")
    if not version:
        raise _Refused("tool/version", "is empty")
    generated = _matching(top["generated"], "generated", _GENERATED, "a UTC time YYYY-MM-DDTHH:MM:SS+00:00")
    try:
        when = dt.datetime.fromisoformat(generated.replace("Z", "+00:00"))
    except ValueError:
        raise _Refused("generated", f"not a date and time: {_shown(generated)}") from None
    fail_on = _enum(Severity, top["fail_on"], "fail_on")
    gates = tuple(_matching(g, f"gates/{i}", _GATE, "a gate name") for i, g in enumerate(_list(top["gates"], "gates")))
    results = tuple(_result(r, f"results/{i}", fail_on) for i, r in enumerate(_list(top["results"], "results")))
    internal = tuple(_string(e, f"internal_errors/{i}")
                     for i, e in enumerate(_list(top["internal_errors"], "internal_errors")))
    strays = [i for i, r in enumerate(results) if r.gate not in gates]
    if strays:
        raise _Refused(f"results/{strays[0]}/gate", f"{results[strays[0]].gate!r} is not among the report's gates")
    shard = _shard(top["shard"], "shard") if "shard" in top else None
    gone = None
    if "baseline_absent" in top:
        gone = tuple(_entry(e, f"baseline_absent/{i}") for i, e in enumerate(_list(top["baseline_absent"],
                                                                                    "baseline_absent")))
    report = Report(results=results, gates=gates, fail_on=fail_on, internal_errors=internal, generated=when,
                    shard=shard, baseline_absent=gone)
    _check_summary(top["summary"], report)
    outcome = _enum(Outcome, top["outcome"], "outcome")
    if outcome is not report.outcome:
        raise _Refused("outcome", f"says {outcome.value}, but its results make it {report.outcome.value}")
    return report, version


def _shard(value: Any, path: str) -> ShardStamp:
    shard = _object(value, path, ("index", "total", "config"))
    index, total = _count(shard["index"], f"{path}/index"), _count(shard["total"], f"{path}/total")
    if not 1 <= index <= total:
        raise _Refused(path, f"shard {index} of {total} does not exist")
    return ShardStamp(index, total, _matching(shard["config"], f"{path}/config", _DIGEST, "sha256:HEX"))


def _check_summary(value: Any, report: Report) -> None:
    summary = _object(value, "summary", ("results", "findings", "blocking", "waived"), ("baselined",))
    counts = _object(summary["results"], "summary/results", tuple(o.value for o in Outcome))
    for outcome, expected in report.counts().items():
        if _count(counts[outcome], f"summary/results/{outcome}") != expected:
            raise _Refused(f"summary/results/{outcome}", f"says {counts[outcome]}, but the report holds {expected}")
    findings = [f for r in report.results for f in r.findings]
    tallies = {"findings": len(findings), "blocking": sum(1 for f in findings if blocks(f, report.fail_on)),
               "waived": sum(1 for f in findings if f.waiver is not None)}
    if "baselined" in summary or any(f.baseline is not None for f in findings):
        tallies["baselined"] = sum(1 for f in findings if f.baselined)
    for key, expected in tallies.items():
        if key not in summary:
            raise _Refused("summary", f"lacks {key!r}")
        if _count(summary[key], f"summary/{key}") != expected:
            raise _Refused(f"summary/{key}", f"says {summary[key]}, but the report holds {expected}")


def _result(value: Any, path: str, fail_on: Severity) -> Result:
    item = _object(value, path, ("gate", "target", "outcome", "error", "location", "details", "findings"))
    outcome = _enum(Outcome, item["outcome"], f"{path}/outcome")
    error = _optional(item["error"], f"{path}/error", _string)
    if outcome is Outcome.ERROR and error is None:
        raise _Refused(f"{path}/error", "an error result must say why")
    if outcome is Outcome.PASSED and error is not None:
        raise _Refused(f"{path}/error", "a passed result has no error")
    findings = tuple(_finding(f, f"{path}/findings/{i}", fail_on)
                     for i, f in enumerate(_list(item["findings"], f"{path}/findings")))
    return Result(
        gate=_matching(item["gate"], f"{path}/gate", _GATE, "a gate name"),
        target=_string(item["target"], f"{path}/target"), outcome=outcome, findings=findings, error=error,
        location=_location(item["location"], f"{path}/location"),
        details=tuple(_string(d, f"{path}/details/{i}") for i, d in enumerate(_list(item["details"],
                                                                                     f"{path}/details"))),
    )


def _finding(value: Any, path: str, fail_on: Severity) -> Finding:
    item = _object(value, path, ("rule", "severity", "message", "location", "resource", "container", "blocking",
                                 "waived", "notes"), ("baseline",))
    rule = _string(item["rule"], f"{path}/rule")
    if not rule:
        raise _Refused(f"{path}/rule", "is empty")
    location = _location(item["location"], f"{path}/location")
    if location is None:
        raise _Refused(f"{path}/location", "a finding is always placed")
    finding = Finding(
        rule=rule, severity=_enum(Severity, item["severity"], f"{path}/severity"),
        message=_string(item["message"], f"{path}/message"), location=location,
        resource=_optional(item["resource"], f"{path}/resource", _string),
        container=_optional(item["container"], f"{path}/container", _string),
        waiver=_optional(item["waived"], f"{path}/waived", _waiver),
        notes=tuple(_string(n, f"{path}/notes/{i}") for i, n in enumerate(_list(item["notes"], f"{path}/notes"))),
        baseline=_mark(item["baseline"], f"{path}/baseline") if "baseline" in item else None,
    )
    blocking = item["blocking"]
    if not isinstance(blocking, bool):
        raise _Refused(f"{path}/blocking", f"must be true or false, found {_shown(blocking)}")
    if blocking != blocks(finding, fail_on):
        raise _Refused(f"{path}/blocking", f"says {str(blocking).lower()}, but its severity, waiver and"
                                           f" the report's fail-on threshold say otherwise")
    return finding


def _mark(value: Any, path: str) -> BaselineMark:
    item = _object(value, path, ("state", "fingerprint", "since", "expired"))
    state = _string(item["state"], f"{path}/state")
    if state not in (NEW, UNCHANGED):
        raise _Refused(f"{path}/state", f"expected new or unchanged, found {_shown(state)}")
    expired = item["expired"]
    if not isinstance(expired, bool):
        raise _Refused(f"{path}/expired", f"must be true or false, found {_shown(expired)}")
    since = _optional(item["since"], f"{path}/since", _date)
    if (since is None) != (state == NEW):
        raise _Refused(f"{path}/since", "a date exactly when the finding is in the baseline (unchanged)")
    return BaselineMark(state, _matching(item["fingerprint"], f"{path}/fingerprint", _DIGEST, "sha256:HEX"),
                        since, expired)


def _entry(value: Any, path: str) -> BaselineEntry:
    item = _object(value, path, ("fingerprint", "since", "gate", "rule", "resource"))
    return BaselineEntry(_matching(item["fingerprint"], f"{path}/fingerprint", _DIGEST, "sha256:HEX"),
                         _date(item["since"], f"{path}/since"),
                         _matching(item["gate"], f"{path}/gate", _GATE, "a gate name"),
                         _string(item["rule"], f"{path}/rule"), _string(item["resource"], f"{path}/resource"))


def _waiver(value: Any, path: str) -> Waiver:
    item = _object(value, path, ("reason", "source", "expires"))
    expires = _optional(item["expires"], f"{path}/expires", _date)
    return Waiver(reason=_string(item["reason"], f"{path}/reason"), source=_string(item["source"], f"{path}/source"),
                  expires=expires)


def _date(value: Any, path: str) -> dt.date:
    text = _matching(value, path, _DATE, "a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _Refused(path, f"not a date: {_shown(text)}") from None


def _location(value: Any, path: str) -> Location | None:
    if value is None:
        return None
    item = _object(value, path, ("path", "line", "column"))
    line = _optional(item["line"], f"{path}/line", _position)
    column = _optional(item["column"], f"{path}/column", _position)
    return Location(_string(item["path"], f"{path}/path"), line, column)


def _position(value: Any, path: str) -> int:
    number = _count(value, path)
    if number < 1:
        raise _Refused(path, "lines and columns start at 1")
    return number


def _object(value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Refused(path, f"must be an object, found {_kind(value)}")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise _Refused(path, f"unknown key {_shown(unknown[0])}")
    missing = [key for key in required if key not in value]
    if missing:
        raise _Refused(path, f"lacks {missing[0]!r}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Refused(path, f"must be an array, found {_kind(value)}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Refused(path, f"must be a string, found {_kind(value)}")
    return value


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Refused(path, f"must be a whole number of at least 0, found {_shown(value)}")
    return value


def _matching(value: Any, path: str, pattern: re.Pattern[str], what: str) -> str:
    text = _string(value, path)
    if not pattern.fullmatch(text):
        raise _Refused(path, f"expected {what}, found {_shown(text)}")
    return text


E = TypeVar("E", Outcome, Severity)
_MEMBERS: dict[type[Any], dict[str, Any]] = {kind: {m.value: m for m in kind} for kind in (Outcome, Severity)}
"""Each enum's members by value, looked up once per field (a report can hold a million of them)."""


def _enum(kind: type[E], value: Any, path: str) -> E:
    member: E | None = _MEMBERS[kind].get(value) if isinstance(value, str) else None
    if member is None:
        raise _Refused(path, f"expected one of {', '.join(m.value for m in kind)}, found {_shown(value)}")
    return member


def _optional(value: Any, path: str, read: Callable[[Any, str], T]) -> T | None:
    return None if value is None else read(value, path)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


def _shown(value: Any) -> str:
    """A value quoted for the message, short: the report is untrusted, and the line goes to a CI log."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
