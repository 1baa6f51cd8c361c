"""What every command does once its flags are parsed: config, jobs, engine, reports, exit code.

Kept free of the command-line framework so the fast path of `gates.entry` can run a manifest scan
without importing it, and so the CLI stays a thin face (DESIGN: the CLI holds no logic).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from gates import __version__
from gates.config import FORMATS, Config, load
from gates.engine import GateJob
from gates.errors import ConfigError, GatesError, UsageError
from gates.interrupts import Interrupted
from gates.interrupts import check as check_interrupted
from gates.interrupts import report as report_interrupted
from gates.model import Outcome, Report, Severity, error_result
from gates.paths import display_path

if TYPE_CHECKING:
    from gates.checks.base_image.options import Overrides
    from gates.rules import Rule

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True)
class CommonOptions:
    config: Path | None
    formats: list[str] | None
    outputs: list[str] | None
    fail_on: Severity | None
    verbose: bool


def load_config(common: CommonOptions) -> Config:
    config = load(common.config)
    changes: dict[str, object] = {}
    if common.fail_on is not None:
        changes["fail_on"] = common.fail_on
    if common.formats:
        for fmt in common.formats:
            if fmt not in FORMATS:
                raise UsageError(f"--format: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        changes["formats"] = tuple(common.formats)
    if common.outputs:
        outputs = list(config.outputs)
        for spec in common.outputs:
            fmt, sep, target = spec.partition("=")
            if not sep or not target or fmt not in FORMATS:
                raise UsageError(f"--output: expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)},"
                                 f" got {spec!r}")
            outputs.append((fmt, Path(target)))
        changes["outputs"] = tuple(outputs)
    return dataclasses.replace(config, **changes) if changes else config  # type: ignore[arg-type]


def manifest_job(config: Config, paths: Sequence[str] | None, level: str | None) -> GateJob:
    from gates.checks.manifests.gate import LEVELS, ManifestOptions, scan

    section = config.section("manifests")
    if level is not None and level not in LEVELS:
        raise UsageError(f"--level: unknown level {level!r} (choose baseline or restricted)")
    if paths:
        chosen = tuple(paths)
    else:
        base = config.source.parent if config.source else Path.cwd()
        chosen = tuple(display_path(base / p) for p in section["paths"])
    options = ManifestOptions(
        paths=chosen, level=level or section["level"], exclude=tuple(section["exclude"]),
        skip_rules=tuple(section["skip-rules"]), max_file_bytes=section["max-file-size"], today=config.today,
        hardening=section["hardening"], allowed_registries=tuple(section["allowed-registries"]),
        require_network_policy=section["require-network-policy"],
    )
    return GateJob("manifests", lambda: scan(options))


def _use_color(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("GITHUB_ACTIONS") == "true":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _LazyRules(Mapping[str, "Rule"]):
    """Rule metadata, loaded only if a reporter asks (SARIF does; console and JSON never do)."""

    def _rules(self) -> Mapping[str, Rule]:
        from gates.rules import all_rules

        return all_rules()

    def __getitem__(self, key: str) -> Rule:
        return self._rules()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules())

    def __len__(self) -> int:
        return len(self._rules())


def _repository_root() -> Path:
    """Where repo-relative paths (SARIF URIs, Code Quality) start: the git top level, else the cwd."""
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


def emit(report: Report, config: Config, verbose: bool) -> None:
    from gates.reporters import Format, RenderContext, renderer

    plain = RenderContext(root=_repository_root(), version=__version__, rules=_LazyRules(), verbose=verbose)
    for fmt in config.formats:
        context = dataclasses.replace(plain, color=_use_color(sys.stdout)) if fmt == "console" else plain
        sys.stdout.write(renderer(Format(fmt))(report, context))
    for fmt, target in config.outputs:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(renderer(Format(fmt))(report, plain), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {fmt}={target}: cannot write: {exc.strerror or exc}") from None
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from gates.reporters import github

        github.auto_emit(report, plain, config.formats, sys.stdout, sys.stderr)  # annotations + job summary
    sys.stdout.flush()


def finish(jobs: list[GateJob], config: Config, verbose: bool) -> int:
    from gates.engine import run

    try:
        report = run(jobs, waivers=config.waivers, fail_on=config.fail_on, today=config.today, verbose=verbose)
        check_interrupted()
    except Interrupted as exc:
        _emit_interrupted(jobs, config, verbose, exc)
        raise
    emit(report, config, verbose)
    for problem in report.internal_errors:
        print(f"gates: internal error in {problem}", file=sys.stderr)
    if report.internal_errors:
        return EXIT_INTERNAL
    return EXIT_PASSED if report.outcome is Outcome.PASSED else EXIT_FAILED


def _emit_interrupted(jobs: list[GateJob], config: Config, verbose: bool, exc: Interrupted) -> None:
    """Write reports that say the run was cut short, so no CI step reads a stale or missing one as a pass."""
    reason = f"the run was interrupted by {exc.name} before the gates finished: no verdict"
    report = Report(results=tuple(error_result(job.name, job.name, reason) for job in jobs),
                    gates=tuple(job.name for job in jobs), fail_on=config.fail_on)
    with suppress(GatesError, OSError):  # best effort: the run already ends with the interrupt's line and code
        emit(report, config, verbose)


def base_image_job(config: Config, flags: Overrides | None = None) -> GateJob:
    from gates.checks.base_image.gate import scan_config

    return GateJob("base-image", lambda: scan_config(config, flags))


def with_now(config: Config, now: str | None) -> Config:
    import datetime as dt

    if now is None:
        return config
    try:
        return dataclasses.replace(config, now=dt.date.fromisoformat(now))
    except ValueError:
        raise UsageError(f"--now: expected a date YYYY-MM-DD, got {now!r}") from None


def run_jobs(config: Config, path: str | None, level: str | None) -> list[GateJob]:
    """The jobs of `gates run`: every gate the configuration enables, in its order."""
    jobs = []
    for gate in config.gates:
        if gate == "manifests":
            jobs.append(manifest_job(config, [path] if path else None, level))
        elif gate == "base-image":
            jobs.append(base_image_job(config))
        elif gate == "signature":
            from gates.checks.signature.job import signature_job

            jobs.append(signature_job(config))
    return jobs


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
        print(f"gates: {kind}: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, UsageError)) else EXIT_FAILED
    except Exception as exc:
        return internal_error(exc, verbose)


def internal_error(exc: BaseException, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(exc)
    print(f"gates: internal error: {type(exc).__name__}: {exc}"
          + ("" if verbose else " (rerun with --verbose for the traceback)"), file=sys.stderr)
    return EXIT_INTERNAL
