"""Rule metadata: stable IDs, severities and the text `gates explain` prints.

Each gate declares its rules in a light module of its folder (no heavy imports), so `gates list` and
`gates explain` never import sigstore or requests; `gates.checks.all_rules` gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
