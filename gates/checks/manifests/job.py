"""Build the manifest gate's job from the configuration and the command line, before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gates.checks.manifests.options import LEVELS
from gates.checks.manifests.rules import GATE
from gates.config import Config
from gates.engine import GateJob
from gates.errors import UsageError
from gates.paths import display_path


def manifest_job(config: Config, paths: Sequence[str], level: str | None,
                 ignore_non_kubernetes: bool = False) -> GateJob:
    """The gate over `paths` (default: `[manifests] paths`, relative to the config file)."""
    from gates.checks.manifests.gate import ManifestOptions, scan

    section = config.section(GATE)
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
        require_network_policy=section["require-network-policy"], inline_waivers=config.inline_waivers,
        ignore_non_kubernetes=ignore_non_kubernetes, shard=config.shard,
    )
    return GateJob(GATE, lambda: scan(options))
