"""A baseline: the findings a tree had on a given day, accepted for now so that only new ones block.

`gates baseline write PATH` stores one fingerprint per finding with the day it entered the baseline;
`--baseline PATH` (or `[baseline] path`) marks each finding of a run `unchanged` (in the baseline:
shown, counted, not blocking) or `new` (blocking as any finding). A finding in the baseline for
longer than `max-age-days` blocks again: a baseline is a debt with a date, not a waiver for ever.

The fingerprint leaves out where the finding sits in its file: a finding is its rule, the resource
(`Kind/namespace/name`, an image reference; the file only for findings of no resource), the container,
and the message, which names the place within the object as a path (`spec.containers[0].image`),
never a line. So it survives lines moving, reformatting (flow or block style, key order, quoting) and
the file being renamed or split, as the object is the same object for the cluster. Two findings
alike in all of that are one entry: the same object judged twice (say, in two overlays).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from gates.errors import ConfigError
from gates.model import NEW, UNCHANGED, BaselineEntry, BaselineMark, Finding, Outcome, Result, Severity, blocks
from gates.record import record, replace
from gates.typecheck import TYPE_CHECKING
from gates.validators import Schema, non_negative_int, string

if TYPE_CHECKING:
    from typing import Any

TABLE = "baseline"
"""`[baseline]`: `path` (the baseline file, relative to the configuration's folder) and `max-age-days`."""
SCHEMA = "gates/baseline/v1"
MAX_BASELINE_BYTES = 64 * 1024 * 1024
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


TABLE_SCHEMA: Schema = {
    "path": (string, ""),
    "max-age-days": (non_negative_int, 0),
}


def fingerprint(finding: Finding) -> str:
    """A finding's identity across runs: no line, column or (where it has a resource) file in it."""
    import hashlib  # a run without a baseline never loads OpenSSL (a tenth of a one-file scan's start-up)

    where = finding.resource if finding.resource else finding.location.path
    parts = (SCHEMA, finding.rule, where, finding.container or "", finding.message)
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


@record
class Baseline:
    entries: Mapping[str, BaselineEntry]
    """By fingerprint."""
    source: str
    """The file, as named (flag or configuration)."""
    max_age_days: int = 0
    """Entries older than this many days block again; 0: no limit."""

    def mark(self, finding: Finding, today: dt.date) -> BaselineMark:
        print_ = fingerprint(finding)
        entry = self.entries.get(print_)
        if entry is None:
            return BaselineMark(NEW, print_)
        expired = self.max_age_days > 0 and (today - entry.since).days > self.max_age_days
        return BaselineMark(UNCHANGED, print_, entry.since, expired)


def apply(results: Sequence[Result], baseline: Baseline, fail_on: Severity, today: dt.date) -> list[Result]:
    """Each finding not waived marked against the baseline; outcomes of decided results re-decided."""
    marked: list[Result] = []
    for result in results:
        if not result.findings:
            marked.append(result)
            continue
        findings = tuple(_marked(f, baseline, today) for f in result.findings)
        changed = replace(result, findings=findings)
        if result.outcome in (Outcome.PASSED, Outcome.FAILED):
            outcome = Outcome.FAILED if any(blocks(f, fail_on) for f in findings) else Outcome.PASSED
            changed = replace(changed, outcome=outcome)
        marked.append(changed)
    return marked


def _marked(finding: Finding, baseline: Baseline, today: dt.date) -> Finding:
    if finding.waiver is not None:
        return finding  # a waiver decides it already; the baseline is for what nobody has looked at
    mark = baseline.mark(finding, today)
    notes = finding.notes
    if mark.expired and mark.since is not None:
        notes = (*notes, f"in the baseline {baseline.source} since {mark.since}, longer than max-age-days"
                         f" ({baseline.max_age_days}): it blocks again")
    return replace(finding, baseline=mark, notes=notes)


def entries_of(results: Iterable[Result], today: dt.date, previous: Baseline | None) -> list[BaselineEntry]:
    """The entries a baseline written today holds: every finding not waived; one already in `previous`
    keeps the day it entered (rewriting a baseline never makes its debts younger)."""
    found: dict[str, BaselineEntry] = {}
    for result in results:
        for finding in result.findings:
            if finding.waiver is not None:
                continue
            print_ = fingerprint(finding)
            old = previous.entries.get(print_) if previous else None
            found[print_] = BaselineEntry(print_, old.since if old else today, result.gate, finding.rule,
                                          finding.resource or finding.location.path)
    return sorted(found.values(), key=lambda e: (e.gate, e.rule, e.resource, e.fingerprint))


def absent(results: Iterable[Result], baseline: Baseline, gates: Iterable[str]) -> tuple[BaselineEntry, ...]:
    """The baseline's entries of these gates that no finding of `results` matched: fixed, or gone."""
    ran = set(gates)
    seen = {f.baseline.fingerprint for r in results for f in r.findings if f.baseline is not None}
    return tuple(e for e in baseline.entries.values() if e.gate in ran and e.fingerprint not in seen)


def render(entries: Sequence[BaselineEntry], today: dt.date, version: str) -> str:
    """The baseline file: sorted, one entry a line, so its diff in review shows what was accepted."""
    lines = [json.dumps({"fingerprint": e.fingerprint, "since": e.since.isoformat(), "gate": e.gate,
                         "rule": e.rule, "resource": e.resource}, ensure_ascii=True) for e in entries]
    body = ",\n    ".join(lines)
    return (f'{{\n  "schema": "{SCHEMA}",\n  "tool": {json.dumps({"name": "gates", "version": version})},\n'
            f'  "written": "{today.isoformat()}",\n  "findings": [' + (f"\n    {body}\n  " if lines else "")
            + "]\n}\n")


def load(path: Path, shown: str, max_age_days: int = 0, missing_ok: bool = False) -> Baseline | None:
    """The baseline in `path`; `ConfigError` naming `shown` when it cannot be read or is not one.

    `missing_ok`: a file that does not exist is None (`baseline write` starting a new one)."""
    from gates.targets.files import NotRegularFile, read_regular

    try:
        data = read_regular(path, MAX_BASELINE_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ConfigError(f"baseline {shown}: no such file (write one with `gates baseline write {shown}`)") \
            from None
    except NotRegularFile as exc:
        raise ConfigError(f"baseline {shown}: {exc}, not a regular file: not read") from None
    except OSError as exc:
        raise ConfigError(f"baseline {shown}: cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_BASELINE_BYTES:
        raise ConfigError(f"baseline {shown}: larger than the {MAX_BASELINE_BYTES} byte limit: not read")
    try:
        document = json.loads(data.decode("utf-8"))
        entries = _entries(document)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split("\n")[0]
        raise ConfigError(f"baseline {shown}: not a gates baseline ({SCHEMA}): {reason}") from None
    return Baseline({e.fingerprint: e for e in entries}, shown, max_age_days)


def _entries(document: Any) -> list[BaselineEntry]:
    """Every entry of a parsed baseline; ValueError naming the first thing that is not as written."""
    if not isinstance(document, dict) or set(document) != {"schema", "tool", "written", "findings"}:
        raise ValueError("expected an object with schema, tool, written and findings")
    if document["schema"] != SCHEMA:
        raise ValueError(f"schema is {str(document['schema'])[:40]!r}")
    if not isinstance(document["findings"], list):
        raise ValueError("findings must be an array")
    entries = []
    for index, item in enumerate(document["findings"]):
        if not isinstance(item, dict) or set(item) != {"fingerprint", "since", "gate", "rule", "resource"}:
            raise ValueError(f"findings[{index}]: expected an object with fingerprint, since, gate, rule, resource")
        if not all(isinstance(item[key], str) for key in item):
            raise ValueError(f"findings[{index}]: every value is a string")
        if not _FINGERPRINT.fullmatch(item["fingerprint"]):
            raise ValueError(f"findings[{index}].fingerprint: expected sha256:HEX")
        if not _DATE.fullmatch(item["since"]):
            raise ValueError(f"findings[{index}].since: expected a date YYYY-MM-DD")
        entries.append(BaselineEntry(item["fingerprint"], dt.date.fromisoformat(item["since"]), item["gate"],
                                     item["rule"], item["resource"]))
    return entries
