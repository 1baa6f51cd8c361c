"""Run the signature gate: one result per image, images checked concurrently on one shared client.

Per image: parse the reference, pick the policies whose globs match it (none: denied, unless
`allow-unmatched`), resolve the digest the reference points at (for a multi-arch tag the index, as
cosign signs and verifies it), then verify against each matching policy. Outcomes:

- `passed`: every matching policy has an authority that verified a signature; details name the digest
  and what accepted it.
- `failed`: unsigned (`signature-missing`), or every signature rejected (the verdict's reasons, saying
  expected vs found), or no policy covers the image (`signature-policy-unmatched`).
- `error`: the gate could not decide (registry down or refusing, a bad reference, a malformed signature
  manifest, a trusted root that does not load): one line naming the image and the problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gates.checks.signature import rules as signature_rules
from gates.checks.signature.policy import Policy
from gates.checks.signature.rules import GATE
from gates.interrupts import map_in_threads
from gates.model import Finding, Location, Outcome, Result, Severity, error_result

if TYPE_CHECKING:
    from gates.checks.signature.discovery import ImageSignatures
    from gates.cosign.verdict import Verdict
    from gates.oci.client import RegistryClient
    from gates.oci.digest import Digest
    from gates.oci.reference import Reference
    from gates.progress import Watch

@dataclass(frozen=True)
class SignatureOptions:
    """What the gate checks and against which policies."""

    images: tuple[str, ...]
    """Image references as given (tag, digest or both); each becomes one result, in this order."""
    policies: tuple[Policy, ...]
    allow_unmatched: bool = False
    """Let images that no policy covers through (as `skipped`, saying so) instead of denying them."""
    concurrency: int = 8
    """Images verified at once (`[registry] concurrency`); they mostly wait on the network."""


def check_images(options: SignatureOptions, client: RegistryClient, watch: Watch | None = None) -> list[Result]:
    """One result per distinct image, in the order given; each checked under `watch` (for progress)."""
    images = list(dict.fromkeys(options.images))

    def one(image: str) -> Result:
        if watch is None:
            return check_image(image, options, client)
        return watch(image, lambda: check_image(image, options, client))

    workers = max(1, min(options.concurrency, len(images)))
    if workers == 1:
        return [one(image) for image in images]
    return map_in_threads(one, images, workers, "gates-signature")


def check_image(image: str, options: SignatureOptions, client: RegistryClient) -> Result:
    """The verdict on one image reference; problems the gate cannot judge become an `error` result."""
    from gates.cosign.errors import AuthorityError, SignatureError
    from gates.notation.errors import NotationError
    from gates.oci.errors import InvalidReferenceError, RegistryError
    from gates.oci.reference import parse_reference

    location = Location(image)
    try:
        ref = parse_reference(image)
    except InvalidReferenceError as exc:
        return error_result(GATE, image, f"{image}: {exc}", location)
    policies = [p for p in options.policies if p.matches(ref)]
    if not policies:
        return _unmatched(image, ref, options, location)
    try:
        resolved = client.resolve(ref)
        return _verify(image, ref, resolved.digest, resolved.media_type, policies, client, location,
                       size=resolved.size)
    except AuthorityError:
        raise  # a policy that cannot work is a configuration error (exit 2), not this image's fault
    except (RegistryError, InvalidReferenceError, SignatureError, NotationError) as exc:
        return error_result(GATE, image, f"{image}: {exc}", location)


def _verify(
    image: str, ref: Reference, digest: Digest, media_type: str, policies: Sequence[Policy],
    client: RegistryClient, location: Location, size: int = 0,
) -> Result:
    from gates.checks.signature.discovery import ImageSignatures
    from gates.oci import mediatypes

    kind = "image index: the digest cosign signs for a multi-arch tag" if media_type in mediatypes.INDEXES \
        else "image manifest"
    details = [f"digest {digest} ({kind})"]
    signatures = ImageSignatures(client, ref, digest)
    findings: list[Finding] = []
    for policy in policies:
        tag = f" [policy: {policy.name}]" if len(policies) > 1 else ""
        if policy.signature:
            verdict = _verdict(signatures, ref.name, digest, policy) if policy.authorities else None
            accepted = verdict.accepted_by if verdict is not None else None
            if accepted is not None:
                details.append(f"policy {policy.name}: {accepted.signature} verified by {accepted.authority}"
                               + _identity_note(policy, accepted.signature))
            else:
                notation_passed = False
                if policy.notation:  # any one authority of either kind suffices
                    from gates.checks.signature.notation_gate import notation_verdict

                    subject = (media_type, str(digest), size)
                    notation_passed, lines, notation_findings = notation_verdict(
                        image, ref, subject, signatures, policy, location)
                    details += lines
                    findings += [dataclasses.replace(f, message=f.message + tag) for f in notation_findings]
                if not notation_passed:
                    details.append(f"policy {policy.name}: no signature verified")
                    if verdict is not None:
                        findings += [dataclasses.replace(f, message=f.message + tag)
                                     for f in verdict.findings(image, signature_rules.SEVERITIES, location)]
        if policy.attestations:
            from gates.checks.signature.attested import check_attestations

            more_details, more_findings = check_attestations(image, signatures, digest, policy, location)
            details += more_details
            findings += [dataclasses.replace(f, message=f.message + tag) for f in more_findings]
    outcome = Outcome.FAILED if any(f.severity != Severity.INFO for f in findings) else Outcome.PASSED
    return Result(gate=GATE, target=image, outcome=outcome, findings=tuple(findings), location=location,
                  details=tuple(details), subject=str(digest))


def _verdict(signatures: ImageSignatures, repository: str, digest: Digest, policy: Policy) -> Verdict:
    """Legacy `.sig` layers one by one, then referrers only if none verified: any one signature suffices."""
    from gates.cosign.signed_identity import MATCH_REPOSITORY
    from gates.cosign.verdict import SignatureCheck, Verdict
    from gates.cosign.verify import verify_image_signatures

    checks: list[SignatureCheck] = []

    def settled(verdict: Verdict) -> Verdict | None:
        checks.extend(verdict.checks)
        return Verdict(str(digest), repository, tuple(checks)) if verdict.verified else None

    identity = policy.signed_identity or MATCH_REPOSITORY
    for sig in signatures.legacy():
        done = settled(verify_image_signatures(str(digest), repository, [sig], [], policy.authorities,
                                               identity=identity))
        if done is not None:
            return done
    attached = signatures.referrers()
    checks.extend(attached.notes)
    for sig in attached.legacy:
        done = settled(verify_image_signatures(str(digest), repository, [sig], [], policy.authorities,
                                               identity=identity))
        if done is not None:
            return done
    done = settled(verify_image_signatures(str(digest), repository, [], attached.bundles, policy.authorities))
    return done or Verdict(str(digest), repository, tuple(checks))


def _identity_note(policy: Policy, signature: str) -> str:
    """What `signed-identity` let through, said where it differs from binding the image's own repository."""
    from gates.cosign.signed_identity import IdentityKind

    identity = policy.signed_identity
    if identity is None or identity.kind is IdentityKind.MATCH_REPOSITORY or signature.startswith("bundle"):
        return ""
    if identity.kind is IdentityKind.DIGEST_ONLY:
        return ("; signed-identity digest-only: the repository the signature names was not checked, only the"
                " digest")
    return (f"; signed-identity {identity.describe()}: a repository under {identity.prefix} must be signed as its"
            f" original under {identity.signed_prefix}")


def _unmatched(image: str, ref: Reference, options: SignatureOptions, location: Location) -> Result:
    if options.allow_unmatched:
        return Result(gate=GATE, target=image, outcome=Outcome.SKIPPED, location=location,
                      error=f"{image}: no signature policy covers {ref.name}; allowed unverified "
                            "(allow-unmatched = true)")
    globs = [g for p in options.policies for g in p.images]
    covered = ", ".join(globs[:5]) + (", ..." if len(globs) > 5 else "") if globs else "none configured"
    message = (f"no signature policy covers {ref.name} (policies cover: {covered}), so nothing may vouch for"
               " it; add a [[signature.policies]] entry for it, or set allow-unmatched = true")
    finding = Finding(rule=signature_rules.POLICY_UNMATCHED, severity=Severity.HIGH, message=message, location=location,
                      resource=image)
    return Result(gate=GATE, target=image, outcome=Outcome.FAILED, findings=(finding,), location=location)
