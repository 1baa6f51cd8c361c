"""Rule metadata: stable IDs, severities and the text `gates explain` prints.

Each gate declares its rules in a light module of its folder (no heavy imports), so `gates list` and
`gates explain` never import sigstore or requests; `gates.checks.all_rules` gathers them.
"""

from __future__ import annotations

from gates.model import Severity
from gates.record import record


@record
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


RUN_GATE = "gates"
"""The `gate` of the rules below: gates itself, not one of its gates."""

RUN_RULES = (
    Rule(
        id="gates-undecided", gate=RUN_GATE, severity=Severity.HIGH,
        title="A gate could not decide a target",
        rationale="The gate could not check this target (an unreadable file, invalid YAML, an unreachable"
                  " registry, a waiver it cannot read, ...). An undecided target fails the run like a violation,"
                  " because an unchecked artifact must not pass a gate. SARIF and Code Quality report such"
                  " targets under this ID.",
        remediation="Fix the cause the message names (the file and line, the network, the credentials) and run"
                    " the gate again.",
    ),
    Rule(
        id="gates-skipped", gate=RUN_GATE, severity=Severity.INFO,
        title="A target was set aside without a verdict",
        rationale="Some targets are said but not judged: Helm chart templates before rendering, a pipe or a"
                  " link out of the tree, a network policy gates cannot judge. A gate that skipped all its"
                  " targets checked nothing, and that is an error, never a pass.",
        remediation="Scan what the message says to scan instead (e.g. `helm template CHART | gates manifests -`),"
                    " or leave the target out of the scan.",
    ),
    Rule(
        id="gates-internal-error", gate=RUN_GATE, severity=Severity.HIGH,
        title="A bug in gates stopped a gate",
        rationale="gates met an error it did not expect. The other gates still ran and reported, and the run"
                  " exits 3 so the bug cannot pass for a verdict.",
        remediation="Rerun with --verbose for the traceback and report it; the input that caused it helps most.",
    ),
)
"""Pseudo-rules: the IDs reports use for outcomes that are not a gate's finding (SARIF `ruleId` and
notifications, Code Quality `check_name`), so `gates explain` can explain every ID a report shows."""
