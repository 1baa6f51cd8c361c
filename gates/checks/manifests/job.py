"""Build the manifest gate's job from the configuration and the command line, before anything runs."""

from __future__ import annotations

import os
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
    base = config.source.parent if config.source else Path.cwd()
    chosen = tuple(paths) if paths else tuple(display_path(base / p) for p in section["paths"])
    options = ManifestOptions(
        paths=chosen, level=level or section["level"], exclude=tuple(section["exclude"]),
        skip_rules=tuple(section["skip-rules"]), max_file_bytes=section["max-file-size"], today=config.today,
        hardening=section["hardening"], allowed_registries=tuple(section["allowed-registries"]),
        credential_name_allowlist=tuple(section["credential-name-allowlist"]),
        require_network_policy=section["require-network-policy"], inline_waivers=config.inline_waivers,
        ignore_non_kubernetes=ignore_non_kubernetes, enable_rules=tuple(dict.fromkeys(section["enable-rules"])),
        resource_limits_severity=section["resource-limits-severity"], render_timeout=section["render-timeout"],
        render=section["render"],
        helm_values=_helm_values(section["helm-values"], base),
        exposed_service_types=tuple(section["exposed-service-types"]),
        shard=config.shard,
    )
    return GateJob(GATE, lambda: scan(options))


def _helm_values(table: dict[str, tuple[str, ...]], base: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Chart folders and values files relative to the configuration's folder; a values file outside it is
    refused (helm would print a line of whatever file it was pointed at)."""
    limit = Path(os.path.realpath(base))
    chosen: list[tuple[str, tuple[str, ...]]] = []
    for chart, files in table.items():
        values: list[str] = []
        for file in files:
            real = Path(os.path.realpath(base / file))
            if not real.is_relative_to(limit):
                raise ConfigError(f"[{GATE}] helm-values: {file!a} lies outside the configuration's folder")
            values.append(str(real))
        chosen.append((os.path.realpath(base / chart), tuple(values)))
    return tuple(chosen)
