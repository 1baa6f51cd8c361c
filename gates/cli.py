"""The command line: a thin face on the library. Parses flags, builds jobs, renders, exits.

Exit codes: 0 all passed, 1 a gate failed or could not decide, 2 usage or configuration error,
3 internal error. Heavy modules (sigstore, requests) are imported only by the gates that need them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from gates import __version__
from gates.checks.base_image.options import Overrides
from gates.config import FORMATS, Config, load
from gates.engine import GateJob
from gates.errors import ConfigError, GatesError, UsageError
from gates.model import Outcome, Report, Severity

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="gates", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name TOML tables like [tool.gates]: print brackets as written
    help="Supply-chain gates for pipelines that ship containers to Kubernetes.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Configuration file (default: gates.toml or "
                                                   "[tool.gates] in pyproject.toml, searched upward).")]
FormatOpt = Annotated[list[str] | None, typer.Option("--format", "-f", help="Output on stdout: "
                                                       + ", ".join(FORMATS) + " (repeatable).")]
OutputOpt = Annotated[list[str] | None, typer.Option("--output", "-o", metavar="FORMAT=PATH",
                                                       help="Also write a report to a file (repeatable).")]
FailOnOpt = Annotated[Severity | None, typer.Option("--fail-on", help="Lowest severity that fails the run.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="List passing targets; tracebacks on "
                                          "internal errors.")]
LevelOpt = Annotated[str | None, typer.Option("--level", help="Pod Security Standards level: baseline or "
                                                 "restricted (default restricted).")]


@dataclasses.dataclass(frozen=True)
class CommonOptions:
    config: Path | None
    formats: list[str] | None
    outputs: list[str] | None
    fail_on: Severity | None
    verbose: bool


def _load_config(common: CommonOptions) -> Config:
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


def _manifest_job(config: Config, paths: Sequence[str] | None, level: str | None) -> GateJob:
    from gates.checks.manifests.gate import LEVELS, ManifestOptions, scan

    section = config.section("manifests")
    if level is not None and level not in LEVELS:
        raise UsageError(f"--level: unknown level {level!r} (choose baseline or restricted)")
    if paths:
        chosen = tuple(paths)
    else:
        base = config.source.parent if config.source else Path.cwd()
        chosen = tuple(_relative_to_cwd(base / p) for p in section["paths"])
    options = ManifestOptions(
        paths=chosen, level=level or section["level"], exclude=tuple(section["exclude"]),
        skip_rules=tuple(section["skip-rules"]), max_file_bytes=section["max-file-size"], today=config.today,
        hardening=section["hardening"], allowed_registries=tuple(section["allowed-registries"]),
        require_network_policy=section["require-network-policy"],
    )
    return GateJob("manifests", lambda: scan(options))


def _relative_to_cwd(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _use_color(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("GITHUB_ACTIONS") == "true":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _repository_root() -> Path:
    """Where repo-relative paths (SARIF URIs, Code Quality) start: the git top level, else the cwd."""
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


def _emit(report: Report, config: Config, verbose: bool) -> None:
    from gates.reporters import Format, RenderContext, github, renderer
    from gates.rules import all_rules

    plain = RenderContext(root=_repository_root(), version=__version__, rules=all_rules(), verbose=verbose)
    for fmt in config.formats:
        context = dataclasses.replace(plain, color=_use_color(sys.stdout)) if fmt == "console" else plain
        sys.stdout.write(renderer(Format(fmt))(report, context))
    for fmt, target in config.outputs:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(renderer(Format(fmt))(report, plain), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {fmt}={target}: cannot write: {exc.strerror or exc}") from None
    github.auto_emit(report, plain, config.formats, sys.stdout, sys.stderr)  # annotations + job summary
    sys.stdout.flush()


def _finish(jobs: list[GateJob], config: Config, verbose: bool) -> int:
    from gates.engine import run

    report = run(jobs, waivers=config.waivers, fail_on=config.fail_on, today=config.today, verbose=verbose)
    _emit(report, config, verbose)
    for problem in report.internal_errors:
        print(f"gates: internal error in {problem}", file=sys.stderr)
    if report.internal_errors:
        return EXIT_INTERNAL
    return EXIT_PASSED if report.outcome is Outcome.PASSED else EXIT_FAILED


@app.command("run")
def run_command(
    path: Annotated[str | None, typer.Argument(help="What to scan (default: the config's paths, else .).")]
    = None,
    level: LevelOpt = None, config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Run every gate the configuration enables (default: the manifest gate)."""
    cfg = _load_config(CommonOptions(config, format, output, fail_on, verbose))
    jobs = []
    for gate in cfg.gates:
        if gate == "manifests":
            jobs.append(_manifest_job(cfg, [path] if path else None, level))
        elif gate == "base-image":
            jobs.append(_base_image_job(cfg))
        elif gate == "signature":
            from gates.checks.signature.job import signature_job

            jobs.append(signature_job(cfg))
    return _finish(jobs, cfg, verbose)


@app.command("manifests")
def manifests_command(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, or - for stdin.")],
    level: LevelOpt = None, config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Check Kubernetes manifests against the Pod Security Standards."""
    cfg = _load_config(CommonOptions(config, format, output, fail_on, verbose))
    return _finish([_manifest_job(cfg, paths, level)], cfg, verbose)


def _base_image_job(config: Config, flags: Overrides | None = None) -> GateJob:
    from gates.checks.base_image.gate import scan_config

    return GateJob("base-image", lambda: scan_config(config, flags))


def _with_now(config: Config, now: str | None) -> Config:
    import datetime as dt

    if now is None:
        return config
    try:
        return dataclasses.replace(config, now=dt.date.fromisoformat(now))
    except ValueError:
        raise UsageError(f"--now: expected a date YYYY-MM-DD, got {now!r}") from None


@app.command("base-image")
def base_image_command(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...", help="Image references (tag or digest).")],
    dockerfile: Annotated[str | None, typer.Option("--dockerfile", help="The Dockerfile the images were built "
                                                   "from: their base when annotations lack it; FROM pinning.")]
    = None,
    max_age_days: Annotated[int | None, typer.Option("--max-age-days", min=0, help="Oldest allowed image.")]
    = None,
    max_base_age_days: Annotated[int | None, typer.Option("--max-base-age-days", min=0,
                                                          help="Oldest allowed base image.")] = None,
    allowed: Annotated[list[str] | None, typer.Option("--allowed", metavar="GLOB", help="Approved base images "
                                                      "(repeatable), e.g. 'docker.io/library/*'.")] = None,
    advisories: Annotated[str | None, typer.Option("--advisories", help="OSV advisory database (directory or "
                                                   "zip) for the package patch level.")] = None,
    ignore_unfixed: Annotated[bool | None, typer.Option("--ignore-unfixed/--include-unfixed",
                                                        help="Leave out advisories with no published fix.",
                                                        show_default=False)] = None,
    now: Annotated[str | None, typer.Option("--now", metavar="DATE", help="Judge as of this date (YYYY-MM-DD; "
                                            "also GATES_NOW).")] = None,
    config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Check images for stale or end-of-life bases, base drift, root users and unpatched packages."""
    cfg = _with_now(_load_config(CommonOptions(config, format, output, fail_on, verbose)), now)
    flags = Overrides(images=tuple(images), dockerfile=dockerfile, max_age_days=max_age_days,
                      max_base_age_days=max_base_age_days, allowed=tuple(allowed or ()), advisories=advisories,
                      ignore_unfixed=ignore_unfixed)
    return _finish([_base_image_job(cfg, flags)], cfg, verbose)


data_app = typer.Typer(name="data", no_args_is_help=True, help="Data files the gates ship.")
app.add_typer(data_app)


@data_app.command("update")
def data_update_command(
    source: Annotated[Path | None, typer.Option("--source", help="A folder of endoflife.date products/*.md "
                                                "pages (default: fetch them from endoflife.date's repository).")]
    = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write (default: "
                                                "$XDG_DATA_HOME/gates/distro-eol.json, which the gate prefers "
                                                "when newer than the shipped file).")] = None,
    now: Annotated[str | None, typer.Option("--now", metavar="DATE", help="The date to stamp (YYYY-MM-DD).")]
    = None,
) -> int:
    """Rebuild the end-of-life data of the base-image gate from endoflife.date."""
    import datetime as dt

    from gates.baseimage.eol import user_data_file
    from gates.baseimage.eol_build import update

    generated = _with_now(Config(source=None), now or os.environ.get("GATES_NOW") or None).today
    print(update(output or user_data_file(), source, generated or dt.date.today(),
                 warn=lambda m: print(f"gates: warning: {m}", file=sys.stderr)))
    return EXIT_PASSED


def _opt(flag: str, help: str, metavar: str | None = None) -> typer.models.OptionInfo:
    return typer.Option(flag, help=help, metavar=metavar, show_default=False)  # type: ignore[no-any-return]


@app.command("signature")
def signature_command(
    images: Annotated[list[str] | None, typer.Argument(metavar="[IMAGE]...", show_default=False,
                                                       help="Image references (default: \\[signature] images).")]
    = None,
    key: Annotated[str | None, _opt("--key", "PEM public key the signature must verify with.", "PEM")] = None,
    identity: Annotated[str | None, _opt("--certificate-identity", "Keyless: exact certificate identity (SAN).",
                                         "ID")] = None,
    identity_regexp: Annotated[str | None, _opt("--certificate-identity-regexp", "Keyless: regexp the whole "
                                                "SAN must match.", "RE")] = None,
    issuer: Annotated[str | None, _opt("--certificate-oidc-issuer", "Keyless: exact OIDC issuer.", "ISS")] = None,
    issuer_regexp: Annotated[str | None, _opt("--certificate-oidc-issuer-regexp", "Keyless: regexp the whole "
                                              "issuer must match.", "RE")] = None,
    github_repository: Annotated[str | None, _opt("--certificate-github-workflow-repository", "Keyless: the "
                                                  "GitHub repository (owner/repo) the workflow ran in.")] = None,
    github_ref: Annotated[str | None, _opt("--certificate-github-workflow-ref", "Keyless: the workflow's git "
                                           "ref, e.g. refs/tags/v1.4.")] = None,
    github_trigger: Annotated[str | None, _opt("--certificate-github-workflow-trigger", "Keyless: the event "
                                               "that triggered the workflow, e.g. push.")] = None,
    trusted_root: Annotated[str | None, _opt("--trusted-root", "trusted_root.json of a private Sigstore "
                                             "(default: the production root shipped with sigstore).",
                                             "PATH")] = None,
    ignore_tlog: Annotated[bool, typer.Option("--insecure-ignore-tlog", help="Accept signatures without a "
                                              "verified Rekor entry.")] = False,
    config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Verify cosign / Sigstore image signatures in the registry (cosign's flags, or \\[signature] policies)."""
    from gates.checks.signature.job import SignatureFlags, signature_job

    cfg = _load_config(CommonOptions(config, format, output, fail_on, verbose))
    flags = SignatureFlags(key=key, identity=identity, identity_regexp=identity_regexp, issuer=issuer,
                           issuer_regexp=issuer_regexp, github_repository=github_repository,
                           github_ref=github_ref, github_trigger=github_trigger, trusted_root=trusted_root,
                           ignore_tlog=ignore_tlog)
    return _finish([signature_job(cfg, tuple(images or ()), flags)], cfg, verbose)


@app.command("list")
def list_command() -> int:
    """List the gates and their rules."""
    from gates.rules import all_rules, gate_names

    rules = all_rules().values()
    for gate in gate_names():
        print(gate)
        for rule in (r for r in rules if r.gate == gate):
            level = f"[{rule.level}]" if rule.level else ""
            print(f"  {rule.id:<30} {rule.severity.value:<8} {level:<12} {rule.title}")
    return EXIT_PASSED


@app.command("explain")
def explain_command(rule_id: Annotated[str, typer.Argument(metavar="RULE")]) -> int:
    """Explain a rule: what it checks, why, and how to fix a finding."""
    import difflib
    import textwrap

    from gates.rules import all_rules

    rules = all_rules()
    rule = rules.get(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, list(rules), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `gates list`)"
        raise UsageError(f"unknown rule {rule_id!r}{hint}")

    def wrap(text: str) -> str:
        return textwrap.fill(text, 96, initial_indent="  ", subsequent_indent="  ")

    level = f", Pod Security Standards {rule.level}" if rule.level else ""
    print(f"{rule.id}: {rule.title}\n  gate {rule.gate}, severity {rule.severity.value}{level}\n")
    print(f"Why it matters\n{wrap(rule.rationale)}\n\nHow to fix it\n{wrap(rule.remediation)}")
    if rule.reference:
        print(f"\nReference\n  {rule.reference}")
    return EXIT_PASSED


@app.command("install-hook")
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
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    try:
        code = app(args=args, prog_name="gates", standalone_mode=False)
    except GatesError as exc:
        kind = "configuration error" if isinstance(exc, ConfigError) else "error"
        print(f"gates: {kind}: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, UsageError)) else EXIT_FAILED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("gates: aborted", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        show = getattr(exc, "show", None)
        if isinstance(exc, typer.exceptions.TyperException) and callable(show):
            show()  # a usage error found by the command-line parser
            return EXIT_USAGE
        if verbose:
            traceback.print_exc()
        print(f"gates: internal error: {type(exc).__name__}: {exc}"
              + ("" if verbose else " (rerun with --verbose for the traceback)"), file=sys.stderr)
        return EXIT_INTERNAL
    return int(code) if isinstance(code, int) else EXIT_PASSED
