"""The vulnerabilities gate's rules: stable ids with the text `gates explain` prints.

Kept free of heavy imports: `gates list` reads it.
"""

from __future__ import annotations

from gates.model import Severity
from gates.rules import Rule

GATE = "vulnerabilities"
"""The gate these rules belong to."""

FIXABLE = "vuln-fixable"
UNFIXED = "vuln-unfixed"

_REFERENCE = "https://openvex.dev/"

RULES: tuple[Rule, ...] = (
    Rule(
        id=FIXABLE,
        gate=GATE,
        title="A package in the scanned image has a known vulnerability that a newer version fixes",
        severity=Severity.HIGH,
        rationale="The scanner found the advisory and a fixed version exists: shipping the image keeps a"
                  " known, patchable hole open. Attackers read the same advisories, usually faster than"
                  " release cycles move.",
        remediation="Upgrade the package (or rebuild on a patched base image) to the fixed version named in"
                    " the finding, then rescan. If the vulnerable code cannot be reached, publish an OpenVEX"
                    " `not_affected` statement with its justification, or add a waiver with a reason and an"
                    " expiry (`rule = \"vuln-*\"`, `resource = \"CVE-... package\"`).",
        reference=_REFERENCE,
    ),
    Rule(
        id=UNFIXED,
        gate=GATE,
        title="A package in the scanned image has a known vulnerability with no fix published",
        severity=Severity.HIGH,
        rationale="No upgrade removes it yet, but the image is still exposed: someone has to decide whether"
                  " it may ship, and that decision should be written down, not implied by silence.",
        remediation="Remove the package if the image does not need it, or record the decision: an OpenVEX"
                    " statement (`not_affected` with its justification, or `affected` with the action taken),"
                    " a waiver with a reason and an expiry, or `ignore-unfixed = true` for a team that"
                    " accepts unfixed advisories.",
        reference=_REFERENCE,
    ),
)
