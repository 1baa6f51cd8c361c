"""The outcome of verifying one image: which signature an authority accepted, or why none was.

Per-signature reasons become the gate's findings, so a user sees every signature that was tried and,
for each, what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gates.cosign import reasons
from gates.model import Finding, Location, Severity


@dataclass(frozen=True)
class SignatureCheck:
    """One signature tried against one authority."""

    signature: str
    """Which signature: `signature layer 2 (sha256:…)` or `bundle 1 (sha256:…)`."""
    authority: str
    """Which authority it was tried with."""
    rule: str | None
    """The rule it violates, or None when the authority accepted it."""
    message: str
    """One line: why it was rejected, or what accepted it."""

    @property
    def accepted(self) -> bool:
        return self.rule is None


@dataclass(frozen=True)
class Verdict:
    """Whether some authority verified some signature of `image_digest`, and the reasons if not."""

    image_digest: str
    repository: str
    checks: tuple[SignatureCheck, ...]
    """Every check made, in order; verification stops at the first accepted one."""

    @property
    def verified(self) -> bool:
        return any(check.accepted for check in self.checks)

    @property
    def accepted_by(self) -> SignatureCheck | None:
        return next((check for check in self.checks if check.accepted), None)

    @property
    def reasons(self) -> tuple[SignatureCheck, ...]:
        """Why the image is not verified: every rejection, or one `signature-missing`. Empty if verified."""
        if self.verified:
            return ()
        if not self.checks:
            return (
                SignatureCheck(
                    signature="",
                    authority="",
                    rule=reasons.MISSING,
                    message=f"no cosign signature or Sigstore bundle found for {self.repository}@{self.image_digest}",
                ),
            )
        return self.checks

    def findings(
        self, target: str, severities: Mapping[str, Severity], location: Location | None = None
    ) -> tuple[Finding, ...]:
        """The reasons as findings on `target` (the image reference); `severities` by reason, from the gate."""
        where = location or Location(target)
        return tuple(
            Finding(
                rule=str(reason.rule),
                severity=severities.get(str(reason.rule), Severity.HIGH),
                message=(f"{reason.signature}: {reason.message}" if reason.signature else reason.message)
                + (f" [authority: {reason.authority}]" if reason.authority else ""),
                location=where,
                resource=target,
            )
            for reason in self.reasons
        )
