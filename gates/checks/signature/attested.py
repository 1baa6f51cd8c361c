"""A policy's required attestations on one image: found, verified by whom, or why not, as details and findings.

Details name every attestation type found and which authority verified each requirement; findings
carry the requirement, the attestation and the authority tried, and for conditions expected vs found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gates.checks.signature import rules as signature_rules
from gates.model import Finding, Location, Severity

SOURCES = ("att", "referrers")
"""Where attestations are looked for, in order: cosign's legacy `.att` tag, then the OCI referrers (first
when the signature's search listed them already: then the `.att` lookup is saved if they suffice)."""

if TYPE_CHECKING:
    from collections.abc import Callable

    from gates.attest.statement import Statement
    from gates.attest.verify import AttestationVerdict, Candidate
    from gates.checks.signature.discovery import ImageSignatures
    from gates.checks.signature.policy import Policy
    from gates.oci.digest import Digest


def check_attestations(
    image: str, signatures: ImageSignatures, digest: Digest, policy: Policy, location: Location
) -> tuple[list[str], list[Finding]]:
    """(details, findings) for every attestation requirement of `policy` on the image at `digest`."""
    from gates.attest.predicates import shown_types
    from gates.attest.verify import claimed_type, verify_attestations

    candidates: list[Candidate] = []
    skipped: list[str] = []
    verdicts: dict[int, AttestationVerdict] = {}
    sources = SOURCES[::-1] if signatures.listed else SOURCES
    for source in sources:  # the next source is read only for requirements the earlier left unmet
        unmet = {r.predicate_type for n, r in enumerate(policy.attestations)
                 if n not in verdicts or verdicts[n].accepted_by is None}
        more, unfetched = signatures.attestations(unmet, source)
        candidates += more
        skipped += unfetched
        for number, requirement in enumerate(policy.attestations):
            if number not in verdicts or verdicts[number].accepted_by is None:
                verdicts[number] = verify_attestations(str(digest), candidates, requirement, also_found=skipped,
                                                       subject_problem=subject_check(image, str(digest), policy))
        if all(v.accepted_by is not None for v in verdicts.values()):
            break
    claimed = [kind for candidate in candidates if (kind := claimed_type(candidate)[0]) is not None]
    details = [f"policy {policy.name}: attestations found: {shown_types([*claimed, *skipped])}"]
    findings: list[Finding] = []
    for number, requirement in enumerate(policy.attestations):
        verdict = verdicts[number]
        accepted = verdict.accepted_by
        label = requirement.describe()
        if accepted is not None:
            details.append(f"policy {policy.name}: attestation {label}: {accepted.attestation} verified by"
                           f" {accepted.authority}")
            continue
        details.append(f"policy {policy.name}: attestation {label}: none verified")
        for reason in verdict.reasons:
            rule = str(reason.rule)
            where = f"{reason.attestation}: " if reason.attestation else ""
            who = f" [authority: {reason.authority}]" if reason.authority else ""
            findings.append(Finding(
                rule=rule, severity=signature_rules.SEVERITIES.get(rule, Severity.HIGH),
                message=f"attestation {label}: {where}{reason.message}{who}", location=location, resource=image,
            ))
    return details, findings


def subject_check(image: str, digest: str, policy: Policy) -> Callable[[Statement], str | None]:
    """The policy's `signed-identity` applied to a statement's subject names, as to a signature's reference.

    The subjects naming the verified digest must include one whose name is this image's repository (or,
    for a mirror, its original under the policy's remap). Only a name that starts with a registry host
    (`ghcr.io/acme/api`, `index.docker.io/library/alpine`, `localhost:5000/app`: what cosign and GitHub
    write for an image) is taken as one; any other (`app.tar`, `image`, an SBOM's own name) names no
    repository, and the binding is then the digest's alone, as cosign and `gh attestation verify` judge
    every subject.
    """
    from gates.cosign.reference import InvalidDockerReference, parse_reference
    from gates.cosign.signed_identity import MATCH_REPOSITORY, identity_problem

    rule = policy.signed_identity or MATCH_REPOSITORY

    def check(statement: Statement) -> str | None:
        algorithm, _, value = digest.partition(":")
        names = [s.name for s in statement.subjects if s.digest.get(algorithm) == value and s.name]
        references = []
        for name in names:
            host, slash, _ = name.partition("/")
            if not slash or not (host == "localhost" or "." in host or ":" in host):
                continue
            try:
                parse_reference(name)
            except InvalidDockerReference:
                continue
            references.append(name)
        if not references:
            return None
        problems = [identity_problem(image, name, rule, "attestation subject") for name in references]
        return None if any(p is None for p in problems) else problems[0]
    return check
