"""The gate registry: every gate, one line each. Config loading, `gates run`, `gates list`,
`gates explain`, the CLI and the README's tables all iterate `GATES`.

Adding a gate is a folder `gates/checks/<name>/` whose `__init__` satisfies `gates.gate.Gate`, and its
line in `_REGISTERED` (mypy checks the module against the protocol there). Nothing else names a gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gates.checks import base_image, cluster, compose, manifests, signature, vulnerabilities

if TYPE_CHECKING:
    from gates.config import Config, ConfigSchema
    from gates.gate import Gate
    from gates.rules import Rule

_REGISTERED: tuple[Gate, ...] = (
    manifests,
    base_image,
    signature,
    vulnerabilities,
    compose,
    cluster,
)
"""Every gate, in the order `gates list`, the CLI and `gates run`'s defaults use."""

GATES: Mapping[str, Gate] = {gate.NAME: gate for gate in _REGISTERED}


@cache
def config_schema() -> ConfigSchema:
    """What a configuration may hold: `[registry]` plus every gate's tables and environment variables."""
    from gates import baseline
    from gates.config import REGISTRY_TABLE, ConfigSchema

    tables = {"registry": REGISTRY_TABLE, baseline.TABLE: baseline.TABLE_SCHEMA}
    environment: dict[str, tuple[str, str]] = {}
    for gate in GATES.values():
        for name, table in gate.config_tables().items():
            if name in tables:
                raise RuntimeError(f"gate {gate.NAME}: table [{name}] is declared twice")
            tables[name] = table
        environment.update({variable: (gate.NAME, key) for variable, key in gate.ENVIRONMENT.items()})
    return ConfigSchema(tables=tables, gates=tuple(GATES),
                        default_gates=tuple(g.NAME for g in GATES.values() if g.DEFAULT), environment=environment,
                        trusted_files=_trusted_files, rules=tuple(all_rules()))


def _trusted_files(config: Config) -> dict[str, Path]:
    """Every gate's trusted files, resolved against the configuration file's folder."""
    from gates import baseline

    base = config.source.parent if config.source else Path.cwd()
    files = {key: base / Path(value).expanduser()
             for gate in GATES.values() for key, value in gate.trusted_files(config).items()}
    if config.section(baseline.TABLE)["path"]:  # what the baseline accepts is policy, as waivers are
        files[f"{baseline.TABLE}.path"] = base / config.section(baseline.TABLE)["path"]
    return files


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None,
                ref: str | None = None) -> Config:
    """`gates.config.load` against every registered gate's schema (`ref`: read it from that git ref)."""
    from gates.config import load

    return load(path, env, cwd, ref, schema=config_schema())


@cache
def all_rules() -> dict[str, Rule]:
    """Every rule of every gate, by ID, in registry order; an ID two rules share is a bug."""
    rules: dict[str, Rule] = {}
    for gate in GATES.values():
        for rule in gate.RULES:
            if rule.id in rules:
                raise RuntimeError(f"duplicate rule id {rule.id}")
            rules[rule.id] = rule
    return rules


def export_admission(config: Config, fmt: str) -> str:
    """The manifest gate's policy as admission documents (`gates export admission`): the one gate whose
    rules a cluster can enforce object by object."""
    from gates.checks.manifests.admission_export import render

    return render(config, fmt)
