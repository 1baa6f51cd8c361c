"""`gates baseline write PATH`: today's findings (a run of the configured gates, or given reports) as a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gates import __version__
from gates.baseline import entries_of, load, render
from gates.config import Config
from gates.errors import ConfigError, UsageError
from gates.model import Outcome, Result
from gates.paths import display_path, inside_git_dir
from gates.wording import counted


def findings_of_reports(reports: Sequence[Path]) -> list[Result]:
    """The results of JSON reports: whole runs as they are, the shards of one run merged first."""
    from gates import report_reader
    from gates.merge import merge

    read = [report_reader.read(path, display_path(path)) for path in reports]
    if any(r.report.shard is not None for r in read):
        return list(merge(read).results)
    return [result for r in read for result in r.report.results]


def write(target: Path, results: Sequence[Result], config: Config) -> str:
    """Write the baseline of `results` to `target`; the line to tell the user what it holds."""
    from gates.atomic import write_atomic

    shown = display_path(target)
    if inside_git_dir(target.parent.resolve() / target.name):
        raise UsageError(f"baseline write: {shown} lies inside a .git directory: not written")
    today = config.today
    try:
        previous = load(target, shown, missing_ok=True)
    except ConfigError as exc:  # a file there that is no baseline: never overwritten by mistake
        raise UsageError(f"baseline write: {exc} (not overwritten)") from None
    entries = entries_of(results, today, previous)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, render(entries, today, __version__).encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"baseline write: cannot write {shown}: {exc.strerror or exc}") from None
    kept = sum(1 for e in entries if e.since < today)
    undecided = sum(1 for r in results if r.outcome is Outcome.ERROR)
    line = f"wrote {shown}: {counted(len(entries), 'finding')} accepted as of {today}"
    if kept:
        line += f" ({kept} kept the day they first entered)"
    if undecided:
        line += (f"; {counted(undecided, 'target')} could not be decided, so what they hold is not in it"
                 " and will block when found")
    return line
