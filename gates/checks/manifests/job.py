"""Build the manifest gate's job from the configuration and the command line, before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gates.checks.manifests.options import LEVELS
from gates.checks.manifests.rules import GATE, OPT_IN_RULES
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError, UsageError
from gates.paths import display_path


def manifest_job(config: Config, paths: Sequence[str], level: str | None,
                 ignore_non_kubernetes: bool = False) -> GateJob:
    """The gate over `paths` (default: `[manifests] paths`, relative to the config file)."""
    from gates.checks.manifests.gate import ManifestOptions, scan

    section = config.section(GATE)
    unknown = [rule for rule in section["enable-rules"] if rule not in OPT_IN_RULES]
    if unknown:
        raise ConfigError(f"[{GATE}] enable-rules: {', '.join(map(repr, unknown))} is not a rule that is off by"
                          f" default (choose from {', '.join(OPT_IN_RULES)})")
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
        ignore_non_kubernetes=ignore_non_kubernetes, enable_rules=tuple(dict.fromkeys(section["enable-rules"])),
        resource_limits_severity=section["resource-limits-severity"],
    )
    return GateJob(GATE, lambda: scan(options))
