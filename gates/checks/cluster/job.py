"""Build the cluster gate's job from the configuration and the command line, before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gates.checks.cluster.rules import GATE, RULES
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError
from gates.paths import display_path


def cluster_job(config: Config, paths: Sequence[str]) -> GateJob:
    """The gate over `paths` (default: `[cluster] paths`, relative to the config file)."""
    from gates.checks.cluster.gate import ClusterOptions, scan

    section = config.section(GATE)
    known = {rule.id for rule in RULES}
    unknown = [rule for rule in section["skip-rules"] if rule not in known]
    if unknown:
        raise ConfigError(f"[{GATE}] skip-rules: unknown rule {unknown[0]!r} (see `gates list`)")
    if paths:
        chosen = tuple(paths)
    else:
        base = config.source.parent if config.source else Path.cwd()
        chosen = tuple(display_path(base / p) for p in section["paths"])
    options = ClusterOptions(paths=chosen, exclude=tuple(section["exclude"]),
                             skip_rules=frozenset(section["skip-rules"]), max_file_bytes=section["max-file-size"],
                             today=config.today)
    return GateJob(GATE, lambda: scan(options))
