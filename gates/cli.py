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
from gates.config import FORMATS, Config
from gates.errors import UsageError
from gates.model import Severity
from gates.runner import EXIT_PASSED, EXIT_USAGE

app = typer.Typer(
    name="gates", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name TOML tables like [tool.gates]: print brackets as written
    help="Supply-chain gates for pipelines that ship containers to Kubernetes.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", metavar="PATH",
    help="Configuration file (default: gates.toml or [tool.gates] in pyproject.toml, searched upward).")]
FormatOpt = Annotated[list[str] | None, typer.Option(
    "--format", "-f", metavar="FORMAT", help="Output on stdout: " + ", ".join(FORMATS) + " (repeatable).")]
OutputOpt = Annotated[list[str] | None, typer.Option(
    "--output", "-o", metavar="FORMAT=PATH", help="Also write a report to a file (repeatable).")]
FailOnOpt = Annotated[Severity | None, typer.Option(
    "--fail-on", metavar="SEVERITY", help="Lowest severity that fails the run: info, low, medium, high, critical.")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="List passing targets; tracebacks on internal errors.")]
LevelOpt = Annotated[str | None, typer.Option(
    "--level", metavar="LEVEL", help="Pod Security Standards level: baseline or restricted (default restricted).")]


@app.command("run")
def run_command(
    path: Annotated[str | None, typer.Argument(metavar="[PATH]", show_default=False,
                                               help="What to scan (default: the config's paths, else .).")]
    = None,
    level: LevelOpt = None, config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Run every gate the configuration enables (default: the manifest gate)."""
    cfg = runner.load_config(runner.CommonOptions(config, format, output, fail_on, verbose))
    return runner.finish(runner.run_jobs(cfg, path, level), cfg, verbose)


@app.command("manifests")
def manifests_command(
    paths: Annotated[list[str] | None, typer.Argument(metavar="[PATH]...", show_default=False,
                                                      help="Files, folders, or - for stdin (default: the "
                                                      "configured [manifests] paths, else .).")] = None,
    level: LevelOpt = None, config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Check Kubernetes manifests against the Pod Security Standards and the hardening rules."""
    cfg = runner.load_config(runner.CommonOptions(config, format, output, fail_on, verbose))
    return runner.finish([runner.manifest_job(cfg, paths, level)], cfg, verbose)


@app.command("base-image")
def base_image_command(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...", help="Image references (tag or digest).")],
    dockerfile: Annotated[str | None, typer.Option(
        "--dockerfile", metavar="PATH",
        help="The Dockerfile the images were built from: their base when annotations lack it; FROM pinning.")]
    = None,
    max_age_days: Annotated[int | None, typer.Option("--max-age-days", min=0, metavar="DAYS",
                                                     help="Oldest allowed image.")] = None,
    max_base_age_days: Annotated[int | None, typer.Option("--max-base-age-days", min=0, metavar="DAYS",
                                                          help="Oldest allowed base image.")] = None,
    allowed: Annotated[list[str] | None, typer.Option("--allowed", metavar="GLOB", help="Approved base images "
                                                      "(repeatable), e.g. 'docker.io/library/*'.")] = None,
    advisories: Annotated[str | None, typer.Option(
        "--advisories", metavar="PATH",
        help="OSV advisory database (directory or zip) for the package patch level.")] = None,
    ignore_unfixed: Annotated[bool | None, typer.Option("--ignore-unfixed/--include-unfixed",
                                                        help="Leave out advisories with no published fix.",
                                                        show_default=False)] = None,
    now: Annotated[str | None, typer.Option("--now", metavar="DATE", help="Judge as of this date (YYYY-MM-DD; "
                                            "also GATES_NOW).")] = None,
    config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Check images for stale or end-of-life bases, base drift, root users and unpatched packages."""
    from gates.checks.base_image.options import Overrides

    cfg = runner.with_now(runner.load_config(runner.CommonOptions(config, format, output, fail_on, verbose)), now)
    flags = Overrides(images=tuple(images), dockerfile=dockerfile, max_age_days=max_age_days,
                      max_base_age_days=max_base_age_days, allowed=tuple(allowed or ()), advisories=advisories,
                      ignore_unfixed=ignore_unfixed)
    return runner.finish([runner.base_image_job(cfg, flags)], cfg, verbose)


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

    generated = runner.with_now(Config(source=None), now or os.environ.get("GATES_NOW") or None).today
    print(update(output or user_data_file(), source, generated or dt.date.today(),
                 warn=lambda m: print(f"gates: warning: {m}", file=sys.stderr)))
    return EXIT_PASSED


def _opt(flag: str, help: str, metavar: str | None = None) -> typer.models.OptionInfo:
    return typer.Option(flag, help=help, metavar=metavar, show_default=False)  # type: ignore[no-any-return]


@app.command("signature")
def signature_command(
    images: Annotated[list[str] | None, typer.Argument(metavar="[IMAGE]...", show_default=False,
                                                       help="Image references (default: [signature] images).")]
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
                                                  "GitHub repository (owner/repo) the workflow ran in.",
                                                  "REPO")] = None,
    github_ref: Annotated[str | None, _opt("--certificate-github-workflow-ref", "Keyless: the workflow's git "
                                           "ref, e.g. refs/tags/v1.4.", "REF")] = None,
    github_trigger: Annotated[str | None, _opt("--certificate-github-workflow-trigger", "Keyless: the event "
                                               "that triggered the workflow, e.g. push.", "EVENT")] = None,
    trusted_root: Annotated[str | None, _opt("--trusted-root", "trusted_root.json of a private Sigstore "
                                             "(default: the production root shipped with sigstore).",
                                             "PATH")] = None,
    ignore_tlog: Annotated[bool, typer.Option("--insecure-ignore-tlog", help="Accept signatures without a "
                                              "verified Rekor entry.")] = False,
    config: ConfigOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False,
) -> int:
    """Verify cosign / Sigstore image signatures in the registry (cosign's flags, or [signature] policies)."""
    from gates.checks.signature.job import COMMAND_LINE, signature_job
    from gates.checks.signature.policy import AuthoritySpec

    cfg = runner.load_config(runner.CommonOptions(config, format, output, fail_on, verbose))
    flags = AuthoritySpec(where=COMMAND_LINE, key=key, identity=identity, identity_regexp=identity_regexp,
                          issuer=issuer, issuer_regexp=issuer_regexp, github_repository=github_repository,
                          github_ref=github_ref, github_trigger=github_trigger, trusted_root=trusted_root,
                          ignore_tlog=ignore_tlog)
    return runner.finish([signature_job(cfg, tuple(images or ()), flags)], cfg, verbose)


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
    with interrupts.trapped():  # SIGINT and SIGTERM: 130 and 143 with one line, never click's "Abort"
        return runner.guarded(lambda: _invoke(args), verbose)


def _invoke(args: list[str]) -> int:
    try:
        code = app(args=args, prog_name="gates", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("gates: aborted", file=sys.stderr)
        return EXIT_USAGE
    except typer.exceptions.TyperException as exc:
        show = getattr(exc, "show", None)
        if not callable(show):
            raise
        show()  # a usage error found by the command-line parser
        return EXIT_USAGE
    return int(code) if isinstance(code, int) else EXIT_PASSED
