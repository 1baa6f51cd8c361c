"""What every command does once its flags are parsed: config, jobs, engine, reports, exit code.

Kept free of the command-line framework so the fast path of `gates.entry` can run a manifest scan
without importing it, and so the CLI stays a thin face (DESIGN: the CLI holds no logic).
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path

from gates import __version__
from gates.config import FORMATS, TEXT_FORMATS, Config, stdout_clash, unique, unknown_format
from gates.engine import GateJob
from gates.errors import ConfigError, GatesError, UsageError
from gates.gate import CommonOptions, Invocation, RunFlags
from gates.interrupts import Interrupted
from gates.interrupts import check as check_interrupted
from gates.interrupts import report as report_interrupted
from gates.model import Outcome, Report, ShardStamp, error_result
from gates.paths import display_path, git_top_level
from gates.record import replace
from gates.text import for_terminal
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

    from gates.baseline import Baseline
    from gates.rules import Rule

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
VSA_OUTPUT = "vsa"
"""`--output vsa=DIR`: a directory of verification summaries (`gates.vsa.output`), not a report format."""

__all__ = ["CommonOptions", "Invocation", "RunFlags", "execute", "finish", "guarded", "load_config", "run_jobs"]


def load_config(common: CommonOptions, with_baseline: bool = True) -> Config:
    """The configuration of this run: file (against every registered gate's schema), environment, flags.

    `with_baseline=False`: the configured baseline is not read (`gates baseline write` makes it)."""
    from gates.checks import load_config as load
    from gates.registry_client import check_cache_dir

    config = load(common.config, ref=common.config_ref)
    check_cache_dir(config, os.environ)
    changes: dict[str, object] = {}
    if common.fail_on is not None:
        changes["fail_on"] = common.fail_on
    if common.formats:
        for fmt in common.formats:
            if fmt not in FORMATS:
                raise UsageError(f"--format: {unknown_format(fmt)}")
        clash = stdout_clash(unique(tuple(common.formats)), "--output {fmt}=PATH")
        if clash:
            raise UsageError(f"--format: {clash}")
        changes["formats"] = unique(tuple(common.formats))
    from gates.shard import chosen as chosen_shard

    shard = chosen_shard(common.shard, os.environ)
    if shard is not None:
        changes["shard"] = shard
    if with_baseline:
        config = replace(config, baseline=_baseline(config, common.baseline))
    if not common.config_outputs:
        config = replace(config, outputs=())  # a hook writes no report into the working tree
    if config.outputs or common.outputs:
        changes["outputs"] = _report_files(config, common)
    return replace(config, **changes) if changes else config


def _baseline(config: Config, flag: Path | None) -> Baseline | None:
    """`--baseline PATH` (from the working directory), else `[baseline] path` (from the configuration's folder)."""
    from gates import baseline

    table = config.section(baseline.TABLE)
    if flag is not None:
        path, shown = flag, display_path(flag)
    elif table["path"]:
        base = config.source.parent if config.source else Path.cwd()
        path = base / table["path"]
        shown = display_path(path)
    else:
        return None
    return baseline.load(path, shown, table["max-age-days"])


def _report_files(config: Config, common: CommonOptions) -> tuple[tuple[str, Path], ...]:
    """`[output]` then `--output`, checked for where each file may be written (see `gates.report_targets`)."""
    from gates import report_targets
    from gates.report_targets import ReportTarget

    table = "[tool.gates.output]" if config.source and config.source.name == "pyproject.toml" else "[output]"
    origin = f"{display_path(config.source)} {table}" if config.source else table
    home = report_targets.repository_of(config.source) if config.source else None
    targets = [ReportTarget(fmt, path, origin, from_command_line=False, home=home) for fmt, path in config.outputs]
    for spec in common.outputs or ():
        fmt, sep, target = spec.partition("=")
        if not sep or not target or (fmt not in FORMATS and fmt != VSA_OUTPUT):
            raise UsageError(f"--output: expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)},"
                             f" or {VSA_OUTPUT}=DIR (verification summaries of the images that pass), got {spec!r}")
        if fmt == VSA_OUTPUT:
            from gates.vsa.statement import verifier_id

            verifier_id(os.environ)  # a bad GATES_VSA_VERIFIER_ID stops the run before any gate
        targets.append(ReportTarget(fmt, Path(target), "--output", from_command_line=True))
    allow = report_targets.allowed_outside(common.allow_output_outside_workspace, os.environ)
    return tuple((t.format, t.path) for t in report_targets.check(targets, os.environ, allow))


def use_color(choice: str, stream: object, environ: Mapping[str, str]) -> bool:
    """`--color`: `always` and `never` as said; `auto` follows NO_COLOR, then FORCE_COLOR, then TERM=dumb
    (a terminal that shows escapes raw), then GitHub's log (which renders colour), then whether it is a TTY."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    if environ.get("GITHUB_ACTIONS") == "true":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _LazyRules(Mapping[str, "Rule"]):
    """Rule metadata, loaded only if a reporter asks (SARIF and the console's fix lines do; JSON never does)."""

    _loaded: Mapping[str, Rule] | None = None

    def _rules(self) -> Mapping[str, Rule]:
        if self._loaded is None:  # once: the console asks for every finding's rule
            from gates.checks import all_rules

            self._loaded = all_rules()
        return self._loaded

    def __getitem__(self, key: str) -> Rule:
        return self._rules()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules())

    def __len__(self) -> int:
        return len(self._rules())


def emit(report: Report, config: Config, verbose: bool, color: str = "auto") -> int:
    """Write the report files, then stdout; the worst exit code a write problem calls for (0 if none).

    Files come first so that a closed or broken stdout (`gates ... | head -c1`, `>/dev/full`) cannot
    cost them. A file that cannot be written, or a stdout that fails, is one line on stderr, and every
    other report is still written.
    """
    from gates.reporters import Format, RenderContext, pieces_renderer

    plain = RenderContext(root=git_top_level(Path.cwd().resolve()),  # where repo-relative paths start
                           version=__version__, rules=_LazyRules(), verbose=verbose)
    code = EXIT_PASSED
    actions = os.environ.get("GITHUB_ACTIONS") == "true"

    def render(fmt: str, context: RenderContext) -> list[str] | None:
        nonlocal code
        try:  # every piece rendered before any is written: a reporter bug writes nothing
            return pieces_renderer(Format(fmt))(report, context)
        except Exception as exc:  # a reporter bug must not cost the other reports
            problem = f"gates: internal error: the {fmt} report: {type(exc).__name__}: {exc}"
            print(for_terminal(problem), file=sys.stderr)
            code = EXIT_INTERNAL
            return None

    for fmt, target in config.outputs:
        if fmt == VSA_OUTPUT:
            code = max(code, _write_summaries(report, config, target))
            continue
        pieces = render(fmt, plain)
        if pieces is not None and not _write_report_file(fmt, target, pieces):
            code = max(code, EXIT_USAGE)
    out = _Stdout()
    aside = any(fmt not in TEXT_FORMATS for fmt in config.formats)  # a document on stdout: text to stderr
    for fmt in config.formats:
        to_stderr = aside and fmt in TEXT_FORMATS
        stream = sys.stderr if to_stderr else sys.stdout
        context = replace(plain, color=use_color(color, stream, os.environ)) \
            if fmt == "console" else plain
        pieces = render(fmt, context)
        if pieces is not None and fmt == "console" and actions:
            from gates.reporters.github import fence_commands

            pieces = [fence_commands("".join(pieces))]  # the runner reads no command in it; gates' own come after
        if pieces is not None and to_stderr:
            _write_stderr("".join(pieces))
        elif pieces is not None:
            for block in _blocks(pieces):
                out.write(block)
    if actions and sys.stderr is not None:
        from gates.reporters import github

        annotations = io.StringIO()  # through `out`, so a broken stdout stays one line on stderr
        github.auto_emit(report, plain, config.formats, annotations, sys.stderr)  # annotations + job summary
        out.write(annotations.getvalue())
    out.flush()
    return code


def _write_stderr(text: str) -> None:
    """A text report beside the document on stdout; a stderr that fails costs only this report."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(text)
            sys.stderr.flush()
    except (OSError, ValueError):
        pass


_BLOCK = 1 << 16
"""Pieces of a report are written in blocks of about this many characters: few writes, no large copy."""


def _blocks(pieces: list[str]) -> Iterator[str]:
    """The pieces joined into blocks of at least `_BLOCK` characters (the last one may be shorter)."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= _BLOCK:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def _write_report_file(fmt: str, target: Path, pieces: list[str]) -> bool:
    from gates.atomic import write_atomic
    from gates.report_targets import shown

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, (block.encode("utf-8") for block in _blocks(pieces)))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"gates: error: cannot write the {fmt} report {shown(target)}: {reason}"
              " (any earlier report there is left as it was)", file=sys.stderr)
        return False
    return True


def _write_summaries(report: Report, config: Config, directory: Path) -> int:
    """`--output vsa=DIR`; a directory that cannot be written is one line on stderr (exit 2), as a report file."""
    from gates.checks import config_schema
    from gates.report_targets import shown
    from gates.vsa.output import write_summaries
    from gates.vsa.policy import policy_of
    from gates.vsa.statement import verifier_id

    try:
        policy = policy_of(config, config_schema().trusted_files(config))
        write_summaries(report, directory, policy, verifier_id(os.environ))
    except OSError as exc:
        print(f"gates: error: cannot write the verification summaries to {shown(directory)}:"
              f" {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_PASSED


class _Stdout:
    """sys.stdout that survives being closed, a broken pipe or a full device: one line on stderr, then silence."""

    def __init__(self) -> None:
        self.failed = False

    def write(self, text: str) -> int:
        self._attempt(lambda stream: stream.write(text))
        return len(text)

    def flush(self) -> None:
        self._attempt(lambda stream: stream.flush())

    def _attempt(self, action: Callable[[TextIO], object]) -> None:
        if self.failed:
            return
        stream = sys.stdout
        try:
            if stream is None:
                raise OSError(errno.EBADF, "stdout is closed")
            action(stream)
        except (OSError, ValueError) as exc:  # ValueError: a closed file object
            self.failed = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"gates: cannot write the report to stdout: {reason} (report files are written before it)",
                  file=sys.stderr)
            _silence_stdout()


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so the flush at interpreter exit cannot fail again with a traceback."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        sys.stdout = None


def finish(jobs: list[GateJob], config: Config, verbose: bool, color: str = "auto") -> int:
    from gates.engine import run

    try:
        report = run(jobs, waivers=config.waivers, fail_on=config.fail_on, today=config.today, verbose=verbose,
                     shard=config.shard, stamp=_shard_stamp(config), baseline=config.baseline)
        check_interrupted()
    except Interrupted as exc:
        _emit_interrupted(jobs, config, verbose, exc)
        raise
    return conclude(report, config, verbose, color)


def _shard_stamp(config: Config) -> ShardStamp | None:
    """What a shard's report says of itself, so `gates merge` can tell whether shards belong together."""
    if config.shard is None:
        return None
    from gates.shard import config_digest

    return ShardStamp(config.shard.index, config.shard.total, config_digest(config, __version__))


def conclude(report: Report, config: Config, verbose: bool, color: str = "auto") -> int:
    """Write every report of a finished run and say its exit code (also `gates merge`'s)."""
    written = emit(report, config, verbose, color)
    for problem in report.internal_errors:
        print(for_terminal(f"gates: internal error in {problem}", lines=True), file=sys.stderr)
    if report.internal_errors or written == EXIT_INTERNAL:
        return EXIT_INTERNAL
    if written == EXIT_USAGE:
        return EXIT_USAGE
    return EXIT_PASSED if report.outcome is Outcome.PASSED else EXIT_FAILED


def _emit_interrupted(jobs: list[GateJob], config: Config, verbose: bool, exc: Interrupted) -> None:
    """Write reports that say the run was cut short, so no CI step reads a stale or missing one as a pass."""
    reason = f"the run was interrupted by {exc.name} before the gates finished: no verdict"
    report = Report(results=tuple(error_result(job.name, job.name, reason) for job in jobs),
                    gates=tuple(job.name for job in jobs), fail_on=config.fail_on, shard=_shard_stamp(config))
    with suppress(GatesError, OSError):  # best effort: the run already ends with the interrupt's line and code
        emit(report, config, verbose)


def with_now(config: Config, now: str | None) -> Config:
    import datetime as dt

    if now is None:
        return config
    try:
        return replace(config, now=dt.date.fromisoformat(now))
    except ValueError:
        raise UsageError(f"--now: expected a date YYYY-MM-DD, got {now!r}") from None


def run_jobs(config: Config, flags: RunFlags) -> list[GateJob]:
    """The jobs of `gates run`: every gate the configuration enables, in its order."""
    from gates.checks import GATES

    return [GATES[name].build_job(config, flags) for name in config.gates]


def execute(invocation: Invocation) -> int:
    """Run what a gate's command asked for: load the configuration, build the job, run, report."""
    config = with_now(load_config(invocation.common), invocation.now)
    return finish([invocation.job(config)], config, invocation.common.verbose, invocation.common.color)


def guarded(command: Callable[[], int], verbose: bool) -> int:
    """Run a command, mapping the errors gates raises on purpose to exit 2, bugs to exit 3, and SIGINT or
    SIGTERM to 130 or 143."""
    try:
        code = command()
        check_interrupted()
        return code
    except Interrupted as exc:
        return report_interrupted(exc)
    except GatesError as exc:
        kind = "configuration error" if isinstance(exc, ConfigError) else "error"
        print(for_terminal(f"gates: {kind}: {exc}"), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, UsageError)) else EXIT_FAILED
    except Exception as exc:
        return internal_error(exc, verbose)


def internal_error(exc: BaseException, verbose: bool) -> int:
    if verbose:
        import traceback  # here: only an internal error needs it

        print(for_terminal("".join(traceback.format_exception(exc)).rstrip("\n"), lines=True), file=sys.stderr)
    print(for_terminal(f"gates: internal error: {type(exc).__name__}: {exc}"
                       + ("" if verbose else " (rerun with --verbose for the traceback)")), file=sys.stderr)
    return EXIT_INTERNAL
