"""`gates merge`: fold the JSON reports of one sharded run into the report of the whole run.

Only a full set of one run is folded: every report a shard's (`--shard K/N`), of the same N, each K
once, the same gates, fail-on, version of gates and configuration digest. Anything else is refused
with one line, since a missing shard would pass what it never judged. A gate that judged nothing in
any shard is an error here, as it is in an unsharded run (`gates.engine.checked_nothing`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gates.engine import checked_nothing
from gates.errors import UsageError
from gates.model import BaselineEntry, Outcome, Report, Result
from gates.report_reader import ReadReport


def merge(reports: Sequence[ReadReport]) -> Report:
    """The whole run's report from its shards' reports; `UsageError` when they are not one full set."""
    if not reports:
        raise UsageError("gates merge needs the JSON reports of every shard")
    first = reports[0]
    unsharded = [r.source for r in reports if r.report.shard is None]
    if unsharded:
        raise UsageError(f"{unsharded[0]} is not a shard's report (it was not written under --shard K/N):"
                         " it holds a whole run already")
    for other in reports[1:]:
        _same_run(first, other)
    total = first.report.shard.total if first.report.shard else 0
    seen: dict[int, str] = {}
    for read in reports:
        index = read.report.shard.index if read.report.shard else 0
        if index in seen:
            raise UsageError(f"{read.source} and {seen[index]} are both shard {index}/{total}")
        seen[index] = read.source
    missing = [str(k) for k in range(1, total + 1) if k not in seen]
    if missing:
        raise UsageError(f"shard {', '.join(missing)} of {total} is missing: its targets were never judged"
                         " (give every shard's report)")
    return _fold([r.report for r in reports])


def _same_run(first: ReadReport, other: ReadReport) -> None:
    a, b = first.report, other.report
    problem = None
    if other.version != first.version:
        problem = f"were written by different versions of gates ({first.version}, {other.version})"
    elif a.shard and b.shard and a.shard.total != b.shard.total:
        problem = f"split the run differently (into {a.shard.total} and {b.shard.total} shards)"
    elif a.gates != b.gates:
        problem = f"ran different gates ({', '.join(a.gates) or 'none'}; {', '.join(b.gates) or 'none'})"
    elif a.fail_on is not b.fail_on:
        problem = f"used different fail-on thresholds ({a.fail_on.value}, {b.fail_on.value})"
    elif a.shard and b.shard and a.shard.config != b.shard.config:
        problem = "were run under different configurations (or on different days)"
    if problem:
        raise UsageError(f"{first.source} and {other.source} are not shards of one run: they {problem}")


def _fold(shards: Sequence[Report]) -> Report:
    """Results gate by gate in the run's order, each gate's in shard order (a report reader re-checks
    that every result belongs to a gate of its report)."""
    gates = shards[0].gates
    by_gate: dict[str, list[Result]] = {gate: [] for gate in gates}
    said: set[Result] = set()
    for shard in sorted(shards, key=lambda r: r.shard.index if r.shard else 0):
        for result in shard.results:
            if result.location is None and result.target == result.gate:  # about the gate, not a target:
                if result in said:  # an internal error every shard met is one result, as in one run
                    continue
                said.add(result)
            by_gate[result.gate].append(result)
    results: list[Result] = []
    for gate, own in by_gate.items():
        results.extend(own)
        if not any(r.outcome is not Outcome.SKIPPED for r in own):
            results.append(checked_nothing(gate, len(own)))
    internal = tuple(dict.fromkeys(e for shard in shards for e in shard.internal_errors))
    return Report(results=tuple(results), gates=gates, fail_on=shards[0].fail_on, internal_errors=internal,
                  generated=max(shard.generated for shard in shards), baseline_absent=_absent(shards))


def _absent(shards: Sequence[Report]) -> tuple[BaselineEntry, ...] | None:
    """Baseline entries no shard saw: each shard lists those it did not, the others' findings included."""
    lists = [shard.baseline_absent for shard in shards]
    if any(entries is None for entries in lists):
        return None
    unseen = set.intersection(*({e.fingerprint for e in entries or ()} for entries in lists))
    return tuple(e for e in lists[0] or () if e.fingerprint in unseen)
