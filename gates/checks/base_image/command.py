"""`gates base-image`: the base-image gate on the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
from gates.errors import UsageError
from gates.gate import CommonOptions, Invocation
from gates.paths import display_path

if TYPE_CHECKING:
    from gates.checks.base_image.options import Overrides
    from gates.config import Config


def base_image_command(
    images: Annotated[list[str] | None, typer.Argument(
        metavar="[IMAGE]...", show_default=False,
        help="Image references, tag or digest (default: [base-image] images).")] = None,
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
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
) -> Invocation:
    """Check images for stale or end-of-life bases, base drift, root users and unpatched packages."""
    from gates.checks.base_image.gate import base_image_job
    from gates.checks.base_image.options import Overrides

    flags = Overrides(images=tuple(images or ()), dockerfile=dockerfile, max_age_days=max_age_days,
                      max_base_age_days=max_base_age_days, allowed=tuple(allowed or ()), advisories=advisories,
                      ignore_unfixed=ignore_unfixed)
    return Invocation(CommonOptions(config, format, output, fail_on, verbose, allow_outside, config_ref,
                                    color=color.value, shard=shard, baseline=baseline),
                      lambda cfg: base_image_job(_with_images(cfg, flags), flags), now=now)


def _with_images(config: Config, flags: Overrides) -> Config:
    """The configuration, once it is known to name images: the arguments, else `[base-image] images`."""
    if not flags.images and not config.section("base-image")["images"]:
        where = display_path(config.source) if config.source else "no configuration file found"
        raise UsageError("the base-image gate has no images to check: give `gates base-image` IMAGE arguments,"
                         f" or list them in [base-image] images ({where})")
    return config
