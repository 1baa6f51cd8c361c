"""`gates cluster`: the cluster gate on the command line."""

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
    OutputOpt,
    ShardOpt,
    VerboseOpt,
)
from gates.gate import CommonOptions, Invocation


def cluster_command(
    paths: Annotated[list[str] | None, typer.Argument(metavar="[PATH]...", show_default=False,
                                                      help="Files, folders, or - for stdin (default: the "
                                                      "configured [cluster] paths, else .).")] = None,
    config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False, allow_outside: AllowOutsideOpt = False,
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
) -> Invocation:
    """Check cluster configuration as code: API server, etcd, kubelet, audit policy, encryption at rest."""
    from gates.checks.cluster.job import cluster_job

    chosen = tuple(paths or ())
    return Invocation(CommonOptions(config, format, output, fail_on, verbose, allow_outside,
                                    config_ref=config_ref, color=color.value, shard=shard, baseline=baseline),
                      lambda cfg: cluster_job(cfg, chosen))
