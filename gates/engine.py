"""Run gates, apply waivers and the fail-on threshold, and fold everything into one `Report`.

Outcomes are decided here and nowhere else: gates report findings, reporters only render.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from gates.errors import ConfigError, UsageError
from gates.model import Outcome, Report, Result, Severity, blocks, error_result
from gates.record import record, replace
from gates.typecheck import TYPE_CHECKING
from gates.waivers import WaiverRule, apply_waivers

if TYPE_CHECKING:
    from gates.baseline import Baseline
    from gates.model import ShardStamp
    from gates.shard import Shard


@record
class GateJob:
    """One gate to run: its name and a function producing its raw results."""

    name: str
    run: Callable[[], list[Result]]


def decide(result: Result, waivers: Sequence[WaiverRule], fail_on: Severity, today: dt.date) -> Result:
    """Final outcome of one result: waivers first, then failed iff a finding still blocks."""
    waived = apply_waivers(result, waivers, today)
    if result.outcome in (Outcome.ERROR, Outcome.SKIPPED):
        return waived  # findings made before the gate gave up are still marked, the outcome stays
    outcome = Outcome.FAILED if any(blocks(f, fail_on) for f in waived.findings) else Outcome.PASSED
    return waived if waived.outcome is outcome else replace(waived, outcome=outcome)  # most stand as the gate said


def shard_key(result: Result) -> str:
    """What a result is sharded by: the file (or image reference) it is placed at, else its target."""
    return result.location.path if result.location is not None else result.target


def checked_nothing(gate: str, skipped: int) -> Result:
    """A gate that judged no target cannot vouch for anything: that is an error, never a pass."""
    why = ("its only target was skipped" if skipped == 1 else f"all {skipped} of its targets were skipped") \
        if skipped else "it found no target"
    return error_result(gate, gate, f"the {gate} gate checked nothing: {why}")


def run(
    jobs: Sequence[GateJob],
    waivers: Sequence[WaiverRule] = (),
    fail_on: Severity = Severity.LOW,
    today: dt.date | None = None,
    verbose: bool = False,
    shard: Shard | None = None,
    stamp: ShardStamp | None = None,
    baseline: Baseline | None = None,
) -> Report:
    """Run every job in order; a bug in one gate becomes an error result, and the others still run.

    Under a `shard`, only the results it owns are kept (each gate may also have read only its share of
    the targets), and a gate that judged nothing here is not an error: `gates merge` decides that over
    every shard. With a `baseline`, findings it holds are marked and do not block (`gates.baseline`)."""
    day = today or dt.date.today()
    started = time.monotonic()
    results: list[Result] = []
    internal: list[str] = []
    for job in jobs:
        try:
            raw = job.run()
        except (UsageError, ConfigError):
            raise
        except Exception as exc:  # a bug: report it, keep the run going, exit 3 at the end
            import traceback  # here: only a bug in a gate needs it

            detail = traceback.format_exc() if verbose else f"{type(exc).__name__}: {exc}"
            internal.append(f"{job.name}: {detail}")
            results.append(error_result(job.name, job.name, f"internal error in the {job.name} gate: "
                                        f"{type(exc).__name__}: {exc}"))
            continue
        if shard is not None:
            raw = [r for r in raw if shard.owns(shard_key(r))]
        decided = [decide(r, waivers, fail_on, day) for r in raw]
        if baseline is not None:
            from gates.baseline import apply

            decided = apply(decided, baseline, fail_on, day)
        results.extend(decided)
        if shard is None and not any(r.outcome is not Outcome.SKIPPED for r in decided):
            results.append(checked_nothing(job.name, len(decided)))
    gates = tuple(j.name for j in jobs)
    gone = None
    if baseline is not None:
        from gates.baseline import absent

        gone = absent(results, baseline, gates)
    return Report(results=tuple(results), gates=gates, fail_on=fail_on, internal_errors=tuple(internal),
                  duration=time.monotonic() - started, shard=stamp, baseline_absent=gone)
