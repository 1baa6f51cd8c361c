"""The gate registry: every gate, one line each. Config loading, `gates run`, `gates list`,
`gates explain`, the CLI and the README's tables all iterate `GATES`.

Adding a gate is a folder `gates/checks/<name>/` whose `__init__` satisfies `gates.gate.Gate`, and its
line in `_REGISTERED` (mypy checks the module against the protocol there). Nothing else names a gate.
"""

from __future__ import annotations

from _thread import allocate_lock
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

from gates.checks import base_image, cluster, compose, manifests, signature, vulnerabilities
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config, ConfigSchema
    from gates.gate import Gate
    from gates.rules import Rule
    from gates.validators import Schema

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


class _Tables(Mapping[str, "Schema"]):
    """`[registry]` and every gate's tables, a gate's options imported only when a lookup or a listing
    reaches it (in registry order): a scan whose configuration names only `[manifests]`, or that has none,
    never imports the image gates' options. Listed in full it is the dict built at once before, in the
    same order, and refuses a table two gates declare."""

    def __init__(self, core: Mapping[str, Schema], gates: Sequence[Gate]) -> None:
        self._tables: dict[str, Schema] = dict(core)
        self._pending = list(gates)
        self._lock = allocate_lock()  # jobs may ask for their sections from several threads

    def _load_next(self) -> bool:
        """Load the next gate's tables in registry order; False when every gate's are loaded."""
        with self._lock:
            if not self._pending:
                return False
            gate = self._pending.pop(0)
            for name, table in gate.config_tables().items():
                if name in self._tables:
                    raise RuntimeError(f"gate {gate.NAME}: table [{name}] is declared twice")
                self._tables[name] = table
            return True

    def __getitem__(self, name: str) -> Schema:
        while name not in self._tables and self._load_next():
            pass
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        """Registry order, each gate's tables loaded only when the iteration reaches them."""
        seen = 0
        while True:
            names = list(self._tables)
            yield from names[seen:]
            seen = len(names)
            if not self._load_next():
                return

    def __len__(self) -> int:
        while self._load_next():
            pass
        return len(self._tables)


@cache
def config_schema() -> ConfigSchema:
    """What a configuration may hold: `[registry]` plus every gate's tables and environment variables."""
    from gates import baseline
    from gates.config import REGISTRY_TABLE, ConfigSchema

    environment: dict[str, tuple[str, str]] = {}
    for gate in GATES.values():
        environment.update({variable: (gate.NAME, key) for variable, key in gate.ENVIRONMENT.items()})
    core = {"registry": REGISTRY_TABLE, baseline.TABLE: baseline.TABLE_SCHEMA}
    return ConfigSchema(tables=_Tables(core, tuple(GATES.values())), gates=tuple(GATES),
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
