"""The command line: a thin face on the library. Parses flags, builds jobs, renders, exits.

Exit codes: 0 all passed, 1 a gate failed or could not decide, 2 usage or configuration error,
3 internal error. Heavy modules (sigstore, requests) are imported only by the gates that need them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from gates import __version__, interrupts, runner
from gates.checks import GATES, all_rules
from gates.cli_options import (
    AllowOutsideOpt,
    BaselineOpt,
    ColorChoice,
    ColorOpt,
    ConfigOpt,
    ConfigRefOpt,
    FailOnOpt,
    FormatOpt,
    LevelOpt,
    NoConfigOutputsOpt,
    OutputOpt,
    ShardOpt,
    VerboseOpt,
)
from gates.config import Config
from gates.errors import UsageError
from gates.runner import EXIT_PASSED, EXIT_USAGE


class _Command(typer.core.TyperCommand):
    """A command whose help reads as gates' README does: `gates explain RULE`, not `{RULE}`, and its whole
    first line in the command list, never cut at 45 characters with "..."."""

    def collect_usage_pieces(self, ctx: typer._click.Context) -> list[str]:
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]

    def get_short_help_str(self, limit: int = 45) -> str:
        text = self.short_help or (self.help or "").strip().split("\n\n")[0]
        return " ".join(text.split())


app = typer.Typer(
    name="gates", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name TOML tables like [tool.gates]: print brackets as written
    help="Supply-chain gates for pipelines that ship containers to Kubernetes.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

@app.command("run", cls=_Command)
def run_command(
    path: Annotated[str | None, typer.Argument(metavar="[PATH]", show_default=False,
                                               help="What to scan (default: the config's paths, else .).")]
    = None,
    level: LevelOpt = None, config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None,
    output: OutputOpt = None, fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
    allow_outside: AllowOutsideOpt = False, no_config_outputs: NoConfigOutputsOpt = False,
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
) -> int:
    """Run every gate the configuration enables (default: the manifest gate)."""
    common = runner.CommonOptions(config, format, output, fail_on, verbose, allow_outside, config_ref,
                                  color=color.value, shard=shard, baseline=baseline,
                                  config_outputs=not no_config_outputs)
    cfg = runner.load_config(common)
    jobs = runner.run_jobs(cfg, runner.RunFlags((path,) if path else (), level))
    return runner.finish(jobs, cfg, verbose, common.color)


@app.command("merge", cls=_Command)
def merge_command(
    reports: Annotated[list[Path], typer.Argument(metavar="REPORT.json...", show_default=False,
                                                  help="The JSON reports of every shard of one run.")],
    config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None, verbose: VerboseOpt = False,
    allow_outside: AllowOutsideOpt = False, color: ColorOpt = ColorChoice.AUTO,
) -> int:
    """Fold the JSON reports of a sharded run (--shard K/N) into one report, and render it in every format."""
    from gates import report_reader
    from gates.merge import merge
    from gates.paths import display_path

    common = runner.CommonOptions(config, format, output, None, verbose, allow_outside, color=color.value)
    cfg = runner.load_config(common)
    read = [report_reader.read(path, display_path(path)) for path in reports]
    return runner.conclude(merge(read), cfg, verbose, common.color)


baseline_app = typer.Typer(name="baseline", no_args_is_help=True, help="Baselines: findings accepted for now.")
app.add_typer(baseline_app)


@baseline_app.command("write", cls=_Command)
def baseline_write_command(
    path: Annotated[Path, typer.Argument(metavar="PATH", show_default=False,
                                         help="The baseline file to write (JSON; commit it).")],
    target: Annotated[str | None, typer.Option("--path", metavar="PATH", help="What `gates run` scans (default: "
                                               "the config's paths, else .).")] = None,
    reports: Annotated[list[Path] | None, typer.Option(
        "--from", metavar="REPORT", help="Take the findings from these JSON reports (a whole run's, or every"
        " shard's of one) instead of running the gates (repeatable).")] = None,
    config: ConfigOpt = None, config_ref: ConfigRefOpt = None, level: LevelOpt = None,
) -> int:
    """Accept today's findings: run every enabled gate (as `gates run`), or read reports, and write their
    fingerprints with today's date (entries already in PATH keep theirs)."""
    from gates import baseline_write
    from gates.engine import run
    from gates.text import for_terminal

    common = runner.CommonOptions(config, None, None, None, False, config_ref=config_ref, config_outputs=False)
    cfg = runner.load_config(common, with_baseline=False)
    if reports:
        results = baseline_write.findings_of_reports(reports)
    else:
        jobs = runner.run_jobs(cfg, runner.RunFlags((target,) if target else (), level))
        results = list(run(jobs, waivers=cfg.waivers, fail_on=cfg.fail_on, today=cfg.today).results)
    print(for_terminal(f"gates: {baseline_write.write(path, results, cfg)}"))
    return EXIT_PASSED


data_app = typer.Typer(name="data", no_args_is_help=True, help="Data files the gates ship.")
app.add_typer(data_app)


@data_app.command("update", cls=_Command)
def data_update_command(
    source: Annotated[Path | None, typer.Option("--source", metavar="PATH", help="A folder of endoflife.date "
                                                "products/*.md pages (default: fetch them from endoflife.date's "
                                                "repository).")] = None,
    only: Annotated[str | None, typer.Option("--file", metavar="NAME", help="Refresh only this data file "
                                             "(default: every gate's).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Where to write, with "
                                                "one data file (default: $XDG_DATA_HOME/gates/NAME, which the "
                                                "gates prefer when it is at least as new as the shipped file).")]
    = None,
    now: Annotated[str | None, typer.Option("--now", metavar="DATE", help="The date to stamp (YYYY-MM-DD).")]
    = None,
    osv: Annotated[list[str] | None, typer.Option("--osv", metavar="ECOSYSTEM", help="Download OSV's advisories "
                                                  "of this ecosystem instead (repeatable: Debian, Alpine, "
                                                  "Ubuntu) into $XDG_DATA_HOME/gates/osv, for [patch-level] "
                                                  "downloaded-osv.")] = None,
    osv_url: Annotated[str | None, typer.Option("--osv-url", metavar="URL", help="Where OSV's ECOSYSTEM/all.zip "
                                                "files are (default: OSV's public bucket).")] = None,
    osv_max_bytes: Annotated[int | None, typer.Option("--osv-max-bytes", min=1, metavar="BYTES",
                                                      help="Largest download accepted (default: 2 GiB).")]
    = None,
    osv_timeout: Annotated[float | None, typer.Option("--osv-timeout", min=0.1, metavar="SECONDS",
                                                      help="Longest stall of the connection (default: 60).")]
    = None,
) -> int:
    """Rebuild the end-of-life data the gates ship (OS releases, Kubernetes, etcd, containerd) from endoflife.date,
    or download OSV advisories with --osv."""
    import datetime as dt

    from gates.distro.eol_build import update
    from gates.text import for_terminal

    if osv:
        if source is not None or only is not None or output is not None:
            raise UsageError("--osv downloads OSV advisories only: --source, --file and --output are for the "
                             "end-of-life data (run them separately)")
        return _osv_update(osv, osv_url, osv_max_bytes, osv_timeout, now)
    if osv_url is not None or osv_max_bytes is not None or osv_timeout is not None:
        raise UsageError("--osv-url, --osv-max-bytes and --osv-timeout need --osv ECOSYSTEM")

    files = [data for gate in GATES.values() for data in gate.data_files()]
    if only is not None:
        files = [data for data in files if data.name == only]
        if not files:
            known = ", ".join(data.name for gate in GATES.values() for data in gate.data_files())
            raise UsageError(f"--file: no data file {only!r} (known: {known})")
    if output is not None and len(files) != 1:
        raise UsageError("--output names one file: choose which with --file NAME")
    generated = runner.with_now(Config(source=None), now or os.environ.get("GATES_NOW") or None).today
    for data in files:
        target = output or _user_data_dir() / data.name
        print(for_terminal(update(target, source, generated or dt.date.today(), products_wanted=data.products,
                                  warn=lambda m: print(for_terminal(f"gates: warning: {m}"), file=sys.stderr))))
    return EXIT_PASSED


def _osv_update(ecosystems: list[str], url: str | None, max_bytes: int | None, timeout: float | None,
                now: str | None) -> int:
    """Each ecosystem downloaded and checked, or one line saying why not (its old data kept)."""
    from gates.distro import osv_data
    from gates.errors import InputError
    from gates.runner import EXIT_FAILED
    from gates.text import for_terminal

    stamp = now or os.environ.get("GATES_NOW") or None
    if stamp is not None:
        stamp = runner.with_now(Config(source=None), stamp).today.isoformat()
    base_url = url or osv_data.DEFAULT_BASE_URL
    try:  # what the command line got wrong is said before anything is downloaded, as a usage error
        for ecosystem in ecosystems:
            osv_data.source_url(base_url, osv_data.check_ecosystem(ecosystem))
    except osv_data.OsvDataError as exc:
        raise UsageError(str(exc)) from None
    folder = osv_data.default_folder()
    failed = 0
    for ecosystem in dict.fromkeys(ecosystems):
        try:
            path, integrity = osv_data.download(
                ecosystem, folder, base_url=base_url,
                max_bytes=max_bytes or osv_data.DEFAULT_MAX_BYTES, timeout=timeout or osv_data.DEFAULT_TIMEOUT,
                stamp=stamp)
        except InputError as exc:
            failed += 1
            print(for_terminal(f"gates: error: {exc}"), file=sys.stderr)
            continue
        print(for_terminal(f"{path}: {integrity.records} OSV records of {integrity.ecosystem}, {integrity.size} "
                           f"bytes, sha256 {integrity.sha256}"))
    return EXIT_FAILED if failed else EXIT_PASSED


def _user_data_dir() -> Path:
    """`$XDG_DATA_HOME/gates`, where refreshed data files go and where the gates look for them first."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "gates"


for _gate in GATES.values():
    app.command(_gate.NAME, help=_gate.SUMMARY + ".", cls=_Command)(_gate.cli_command())


@app.command("list", cls=_Command)
def list_command() -> int:
    """List the gates and their rules."""
    from gates.rules import RUN_GATE, RUN_RULES

    sections = [(f"{gate.NAME}: {gate.SUMMARY}", gate.RULES) for gate in GATES.values()]
    sections.append((f"{RUN_GATE}: outcomes reports name like rules (not findings)", RUN_RULES))
    for heading, rules in sections:
        print(heading)
        for rule in rules:
            level = f"[{rule.level}]" if rule.level else ""
            print(f"  {rule.id:<30} {rule.severity.value:<8} {level:<12} {rule.title}")
    return EXIT_PASSED


@app.command("explain", cls=_Command)
def explain_command(rule_id: Annotated[str, typer.Argument(metavar="RULE")]) -> int:
    """Explain a rule: what it checks, why, and how to fix a finding."""
    import textwrap

    from gates.rules import RUN_GATE, RUN_RULES
    from gates.suggest import did_you_mean

    rules = {**all_rules(), **{r.id: r for r in RUN_RULES}}
    rule = rules.get(rule_id.strip().lower())  # rule IDs are lower case; PSS-PRIVILEGED means pss-privileged
    if rule is None:
        raise UsageError(f"unknown rule {rule_id!r}" + did_you_mean(rule_id, rules, " (see `gates list`)"))

    def wrap(text: str) -> str:
        return textwrap.fill(text, 96, initial_indent="  ", subsequent_indent="  ")

    level = f", Pod Security Standards {rule.level}" if rule.level else ""
    owner = "reported by gates itself" if rule.gate == RUN_GATE else f"gate {rule.gate}"
    print(f"{rule.id}: {rule.title}\n  {owner}, severity {rule.severity.value}{level}\n")
    print(f"Why it matters\n{wrap(rule.rationale)}\n\nHow to fix it\n{wrap(rule.remediation)}")
    if rule.reference:
        print(f"\nReference\n  {rule.reference}")
    return EXIT_PASSED


export_app = typer.Typer(name="export", no_args_is_help=True, help="The policy gates enforces, for other tools.")
app.add_typer(export_app)


@export_app.command("admission", cls=_Command)
def export_admission_command(
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="vap (ValidatingAdmissionPolicy "
                                     "and binding per rule) or kyverno (one ClusterPolicy).")] = "vap",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Write the documents "
                                                "here (default: standard output).")] = None,
    config: ConfigOpt = None,
) -> int:
    """Write the manifest policy CI enforces as admission policies, for the cluster to enforce too."""
    from gates.atomic import write_atomic
    from gates.checks import export_admission, load_config
    from gates.report_targets import shown

    text = export_admission(load_config(config), fmt.lower())
    if output is None:
        sys.stdout.write(text)
        return EXIT_PASSED
    try:
        write_atomic(output, text.encode())
    except OSError as exc:  # a folder, a pipe or a device at the path, or no room: said, never a traceback
        raise UsageError(f"--output {shown(output)}: cannot write: {exc.strerror or exc}") from None
    return EXIT_PASSED


@app.command("attest", cls=_Command)
def attest_command(
    summaries: Annotated[list[Path], typer.Argument(metavar="SUMMARY...", show_default=False,
                                                    help="Folders written by --output vsa=DIR, or summary files.")],
    key: Annotated[Path | None, typer.Option("--key", metavar="PATH", help="Sign with this cosign.key (password "
                                             "in COSIGN_PASSWORD) or PEM private key.")] = None,
    keyless: Annotated[bool, typer.Option("--keyless", help="Sign with the CI's ambient OIDC identity (Fulcio "
                                          "certificate, Rekor entry).")] = False,
    trust_config: Annotated[Path | None, typer.Option("--trust-config", metavar="PATH", help="Keyless: the "
                                                      "Sigstore instance's client trust config (default: the "
                                                      "public-good instance).")] = None,
    max_age: Annotated[int, typer.Option("--max-age", min=1, metavar="SECONDS", help="Refuse summaries verified "
                                         "longer ago than this.")] = 3600,
    config: ConfigOpt = None,
) -> int:
    """Sign each verification summary of the image gates (DSSE) and attach it to its image as a cosign v3
    bundle referrer."""
    from gates.checks import load_config
    from gates.runner import EXIT_FAILED
    from gates.text import for_terminal
    from gates.vsa import attest

    failed = False
    for outcome in attest.run(summaries, key, keyless, trust_config, max_age, load_config(config), os.environ):
        failed = failed or not outcome.ok
        print(for_terminal(outcome.line if outcome.ok else f"gates: error: {outcome.line}"),
              file=sys.stdout if outcome.ok else sys.stderr)
    return EXIT_FAILED if failed else EXIT_PASSED


@app.command("install-hook", cls=_Command)
def install_hook_command(
    uninstall: Annotated[bool, typer.Option("--uninstall", help="Remove the hook again, restoring any hook it "
                                            "chained.")] = False,
) -> int:
    """Install a git pre-push hook running `gates run`; a hook already there is kept and runs first."""
    from gates import hooks

    print(hooks.uninstall(Path.cwd()) if uninstall else hooks.install(Path.cwd()))
    return EXIT_PASSED


def _version_callback(value: bool) -> None:
    if value:
        print(f"gates {__version__}")
        raise typer.Exit(EXIT_PASSED)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Supply-chain gates for pipelines that ship containers to Kubernetes."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: maps every way a run can end to its exit code, never a traceback by default."""
    from gates.registry_client import start_run

    start_run()
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    from gates.shard import remember_arguments

    remember_arguments(args)
    with interrupts.trapped():  # SIGINT and SIGTERM: 130 and 143 with one line, never click's "Abort"
        return runner.guarded(lambda: _invoke(args), verbose)


def _usage_error(exc: typer.exceptions.TyperException) -> int:
    """A problem the command-line parser found, in gates' one style: `gates: error: ...` and where to look.

    `gates` or `gates data` alone still print their help (click raises that as a usage error too)."""
    from gates.text import for_terminal

    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]
        return EXIT_USAGE
    message = getattr(exc, "format_message", None)
    if not callable(message):
        raise exc
    context = getattr(exc, "ctx", None)
    path = getattr(context, "command_path", None)
    hint = f" (see `{path} --help`)" if path else ""
    print(for_terminal(f"gates: error: {str(message()).rstrip('.')}{hint}"), file=sys.stderr)
    return EXIT_USAGE


def _invoke(args: list[str]) -> int:
    try:
        code = app(args=args, prog_name="gates", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("gates: aborted", file=sys.stderr)
        return EXIT_USAGE
    except typer.exceptions.TyperException as exc:
        return _usage_error(exc)
    if isinstance(code, runner.Invocation):
        return runner.execute(code)
    return int(code) if isinstance(code, int) else EXIT_PASSED
