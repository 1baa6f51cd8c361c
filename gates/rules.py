"""Rule metadata: stable IDs, severities and the text `gates explain` prints.

Each gate declares its rules in a light module (no heavy imports) listed in `_RULE_MODULES`, so
`gates list` and `gates explain` never import sigstore or requests.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from gates.model import Severity


@dataclass(frozen=True)
class Rule:
    """A documented, stable check."""

    id: str
    """Stable identifier, used in waivers, JUnit names, SARIF ruleId."""
    gate: str
    """The gate that owns the rule (`manifests`, `signature`, `base-image`, ...)."""
    title: str
    """A short sentence naming what is checked."""
    severity: Severity
    """Default severity of its findings."""
    rationale: str
    """Why the rule matters: the attack or failure it prevents."""
    remediation: str
    """What to change so the rule passes."""
    level: str | None = None
    """For Pod Security Standards rules: `baseline` or `restricted`."""
    reference: str | None = None
    """Where the rule comes from (a standard, a document)."""


_RULE_MODULES: dict[str, str] = {
    "manifests": "gates.checks.manifests.rules",
    "signature": "gates.checks.signature.rules",
    "base-image": "gates.checks.base_image.rules",
}
"""Gate name -> module exposing `RULES: tuple[Rule, ...]`. Later gates register here."""


@cache
def all_rules() -> dict[str, Rule]:
    """Every rule of every gate, by ID, in declaration order."""
    rules: dict[str, Rule] = {}
    for module_name in _RULE_MODULES.values():
        module = importlib.import_module(module_name)
        for rule in module.RULES:
            if rule.id in rules:
                raise RuntimeError(f"duplicate rule id {rule.id}")
            rules[rule.id] = rule
    return rules


def gate_names() -> tuple[str, ...]:
    return tuple(_RULE_MODULES)


def rules_of(gate: str) -> tuple[Rule, ...]:
    return tuple(r for r in all_rules().values() if r.gate == gate)

