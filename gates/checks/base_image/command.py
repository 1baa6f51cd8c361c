"""`gates base-image`: the base-image gate on the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from gates.cli_options import (
    AllowOutsideOpt,
    ColorChoice,
    ColorOpt,
    ConfigOpt,
    ConfigRefOpt,
    FailOnOpt,
    FormatOpt,
    NowOpt,
    OutputOpt,
    VerboseOpt,
)
from gates.gate import CommonOptions, Invocation


def base_image_command(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...", help="Image references (tag or digest).")],
    dockerfile: Annotated[str | None, typer.Option(
        "--dockerfile", metavar="PATH",
        help="The Dockerfile the images were built from: their base when annotations lack it; FROM pinning.")]
    = None,
    max_age_days: Annotated[int | None, typer.Option("--max-age-days", min=0, max=36500, metavar="DAYS",
                                                     help="Oldest allowed image.")] = None,
    max_base_age_days: Annotated[int | None, typer.Option("--max-base-age-days", min=0, max=36500,
                                                          metavar="DAYS",
                                                          help="Oldest allowed base image.")] = None,
    allowed: Annotated[list[str] | None, typer.Option("--allowed", metavar="GLOB", help="Approved base images "
                                                      "(repeatable), e.g. 'docker.io/library/*'.")] = None,
    advisories: Annotated[str | None, typer.Option(
        "--advisories", metavar="PATH",
        help="OSV advisory database (directory or zip) for the package patch level.")] = None,
    ignore_unfixed: Annotated[bool | None, typer.Option("--ignore-unfixed/--include-unfixed",
                                                        help="Leave out advisories with no published fix.",
                                                        show_default=False)] = None,
    now: NowOpt = None,
    config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False, allow_outside: AllowOutsideOpt = False,
    color: ColorOpt = ColorChoice.AUTO,
) -> Invocation:
    """Check images for stale or end-of-life bases, base drift, root users and unpatched packages."""
    from gates.checks.base_image.gate import base_image_job
    from gates.checks.base_image.options import Overrides

    flags = Overrides(images=tuple(images), dockerfile=dockerfile, max_age_days=max_age_days,
                      max_base_age_days=max_base_age_days, allowed=tuple(allowed or ()), advisories=advisories,
                      ignore_unfixed=ignore_unfixed)
    return Invocation(CommonOptions(config, format, output, fail_on, verbose, allow_outside, config_ref,
                                    color=color.value),
                      lambda cfg: base_image_job(cfg, flags), now=now)
