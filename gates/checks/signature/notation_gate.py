"""A policy's Notary Project authorities on one image: details, findings, and whether any accepted it.

Any one authority accepting one signature satisfies the policy (as for cosign authorities). Checks
the trust policy sets to `log` that failed on the accepted signature become `notation-check-logged`
findings of severity info, so every output format shows the warning without failing the run; what
could not be checked offline (revocation) is said in the details of every result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gates.checks.signature import rules as signature_rules
from gates.model import Finding, Location, Severity
from gates.notation import reasons

if TYPE_CHECKING:
    from gates.checks.signature.discovery import ImageSignatures
    from gates.checks.signature.policy import Policy
    from gates.oci.reference import Reference


def notation_verdict(
    image: str, ref: Reference, subject: tuple[str, str, int], signatures: ImageSignatures, policy: Policy,
    location: Location,
) -> tuple[bool, list[str], list[Finding]]:
    """(accepted, detail lines, findings) of `policy`'s notation authorities; registry failures raise."""
    from gates.notation.verify import Subject

    media_type, digest, size = subject
    found = signatures.notation()
    details: list[str] = []
    findings: list[Finding] = []
    for authority in policy.notation:
        judgement = authority.judge(ref.name, Subject(media_type, digest, size), found)
        where = f"policy {policy.name}: {authority.name}"
        if judgement.skipped:
            details.append(f"{where}: statement {judgement.statement!r} skips signature verification")
            # any one authority suffices: what the others rejected does not count against the image
            return True, details, [_finding(image, location, reasons.CHECK_LOGGED,
                                            f"trust policy statement {judgement.statement!r} is set to skip"
                                            f" signature verification: accepted unverified"
                                            f" [authority: {authority.name}]")]
        accepted = judgement.accepted
        if accepted is not None:
            details.append(f"{where}: {accepted.label} verified under statement {judgement.statement!r}"
                           f" ({accepted.summary})")
            details += [f"{accepted.label}: {note}" for note in accepted.notes]
            return True, details, [_finding(image, location, reasons.CHECK_LOGGED,
                                            f"{accepted.label}: {check.name} was set to \"log\" and failed:"
                                            f" {check.problem} [authority: {authority.name}]")
                                   for check in accepted.logged]
        details.append(f"{where}: no Notary signature verified ({len(found)} found)")
        findings += [_finding(image, location, rejection.rule,
                              (f"{rejection.signature}: " if rejection.signature else "") + rejection.message
                              + f" [authority: {authority.name}]")
                     for rejection in judgement.rejections]
    return False, details, findings


def _finding(image: str, location: Location, rule: str, message: str) -> Finding:
    severity = signature_rules.SEVERITIES.get(rule, Severity.HIGH)
    return Finding(rule=rule, severity=severity, message=message, location=location, resource=image)
