"""`gates manifests`: the manifest gate on the command line."""

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
    LevelOpt,
    NoConfigOutputsOpt,
    OutputOpt,
    ShardOpt,
    VerboseOpt,
)
from gates.gate import CommonOptions, Invocation


def manifests_command(
    paths: Annotated[list[str] | None, typer.Argument(metavar="[PATH]...", show_default=False,
                                                      help="Files, folders, or - for stdin (default: the "
                                                      "configured [manifests] paths, else .).")] = None,
    level: LevelOpt = None, config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False, allow_outside: AllowOutsideOpt = False,
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
    no_config_outputs: NoConfigOutputsOpt = False,
    ignore_non_kubernetes: Annotated[bool, typer.Option(
        "--ignore-non-kubernetes",
        help="A named file that holds no Kubernetes object passes with a note instead of being an error, as"
             " in a folder walk: for pre-commit, which passes every changed YAML file.")] = False,
) -> Invocation:
    """Check Kubernetes manifests against the Pod Security Standards and the hardening rules."""
    from gates.checks.manifests.job import manifest_job

    chosen = tuple(paths or ())
    common = CommonOptions(config, format, output, fail_on, verbose, allow_outside, config_ref,
                           color=color.value, shard=shard, baseline=baseline, config_outputs=not no_config_outputs)
    return Invocation(common, lambda cfg: manifest_job(cfg, chosen, level, ignore_non_kubernetes))
