"""`gates vulnerabilities`: judge the reports a scanner already wrote."""

from __future__ import annotations

from typing import Annotated

import typer

from gates.cli_options import (
    AllowOutsideOpt,
    BaselineOpt,
    ColorChoice,
    ColorOpt,
    ConfigOpt,
    ConfigRefOpt,
    FailOnOpt,
    FormatOpt,
    NowOpt,
    OutputOpt,
    ShardOpt,
    VerboseOpt,
)
from gates.gate import CommonOptions, Invocation
from gates.model import Severity


def vulnerabilities_command(
    reports: Annotated[list[str] | None, typer.Argument(
        metavar="[REPORT]...", show_default=False,
        help="Trivy JSON, Grype JSON, GitLab container-scanning or CycloneDX reports (default: [vulnerabilities]"
             " reports).")] = None,
    vex: Annotated[list[str] | None, typer.Option(
        "--vex", metavar="PATH", help="OpenVEX document to apply (repeatable).")] = None,
    ignore_unfixed: Annotated[bool | None, typer.Option(
        "--ignore-unfixed/--include-unfixed", help="Leave out vulnerabilities with no published fix.",
        show_default=False)] = None,
    min_severity: Annotated[Severity | None, typer.Option(
        "--min-severity", metavar="SEVERITY", case_sensitive=False, help="Leave out vulnerabilities rated below this.",
        show_default=False)] = None,
    fix_grace_days: Annotated[int | None, typer.Option(
        "--fix-grace-days", min=0, metavar="DAYS",
        help="Accept a fix published fewer than DAYS ago (where the report dates it).", show_default=False)] = None,
    now: NowOpt = None,
    config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False, allow_outside: AllowOutsideOpt = False,
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
) -> Invocation:
    """Judge scanner reports (Trivy, Grype, GitLab container scanning, CycloneDX), with OpenVEX and waivers."""
    from gates.checks.vulnerabilities.job import Flags, vulnerabilities_job

    flags = Flags(reports=tuple(reports or ()), vex=tuple(vex or ()), ignore_unfixed=ignore_unfixed,
                  min_severity=min_severity, fix_grace_days=fix_grace_days)
    return Invocation(CommonOptions(config, format, output, fail_on, verbose, allow_outside,
                                    config_ref=config_ref, color=color.value, shard=shard, baseline=baseline),
                      lambda cfg: vulnerabilities_job(cfg, flags), now=now)
