"""Build the compose gate's job from the configuration and the command line, before anything runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gates.checks.compose.rules import GATE, RULES
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError
from gates.paths import display_path


def _within(base: Path, paths: Sequence[str]) -> Sequence[str]:
    """`[compose] paths` stay in the configuration's folder: a policy names the tree it guards, and a
    path outside it (`/etc/shadow`, `../..`) would read, and quote, files that are none of its business."""
    root = os.path.realpath(base)
    for path in paths:
        real = os.path.realpath(base / path)
        if os.path.commonpath([real, root]) != root:
            raise ConfigError(f"[{GATE}] paths: {path!a} lies outside the configuration's folder"
                              f" ({display_path(base)}): not read"
                              " (name a path outside on the command line if it is meant)")
    return paths


def compose_job(config: Config, paths: Sequence[str]) -> GateJob:
    """The gate over `paths` (default: `[compose] paths`, relative to the config file)."""
    from gates.checks.compose.gate import ComposeOptions, scan

    section = config.section(GATE)
    known = {rule.id for rule in RULES}
    unknown = [rule for rule in section["skip-rules"] if rule not in known]
    if unknown:
        raise ConfigError(f"[{GATE}] skip-rules: unknown rule {', '.join(map(repr, unknown))}"
                          f" (see `gates list`)")
    if paths:
        chosen = tuple(paths)
    else:
        base = config.source.parent if config.source else Path.cwd()
        chosen = tuple(display_path(base / p) for p in _within(base, section["paths"]))
    options = ComposeOptions(
        paths=chosen, exclude=tuple(section["exclude"]), skip_rules=tuple(section["skip-rules"]),
        max_file_bytes=section["max-file-size"], allowed_capabilities=tuple(section["allowed-capabilities"]),
        environment=dict(os.environ), today=config.today, inline_waivers=config.inline_waivers,
    )
    return GateJob(GATE, lambda: scan(options))
