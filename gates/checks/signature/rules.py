"""The signature gate's rules: stable ids with the text `gates explain` prints.

Kept free of heavy imports (no sigstore, no cryptography): `gates list` reads it.
"""

from __future__ import annotations

from gates.attest import reasons as attestation_reasons
from gates.cosign import reasons
from gates.model import Severity
from gates.notation import reasons as notation_reasons
from gates.rules import Rule

MISSING = reasons.MISSING
INVALID = reasons.INVALID
IDENTITY_MISMATCH = reasons.IDENTITY_MISMATCH
TLOG_MISSING = reasons.TLOG_MISSING
PAYLOAD_MISMATCH = reasons.PAYLOAD_MISMATCH
POLICY_UNMATCHED = reasons.POLICY_UNMATCHED
ATTESTATION_MISSING = attestation_reasons.MISSING
ATTESTATION_INVALID = attestation_reasons.INVALID
ATTESTATION_CONDITION = attestation_reasons.CONDITION

GATE = "signature"
"""The gate these rules belong to."""

NOTATION_MISSING = notation_reasons.MISSING
NOTATION_INVALID = notation_reasons.INVALID
NOTATION_IDENTITY_MISMATCH = notation_reasons.IDENTITY_MISMATCH
NOTATION_PAYLOAD_MISMATCH = notation_reasons.PAYLOAD_MISMATCH
NOTATION_REVOCATION_UNCHECKED = notation_reasons.REVOCATION_UNCHECKED
NOTATION_POLICY_UNMATCHED = notation_reasons.POLICY_UNMATCHED
NOTATION_CHECK_LOGGED = notation_reasons.CHECK_LOGGED

_COSIGN = "https://docs.sigstore.dev/cosign/verifying/verify/"
_ATTESTATIONS = "https://docs.sigstore.dev/cosign/verifying/attestation/"
_NOTATION = "https://notaryproject.dev/docs/user-guides/how-to/verify-image-signature/"


def _rule(rule_id: str, severity: Severity, title: str, rationale: str, remediation: str,
          reference: str = _COSIGN) -> Rule:
    return Rule(
        id=rule_id,
        gate=GATE,
        title=title,
        severity=severity,
        rationale=rationale,
        remediation=remediation,
        reference=reference,
    )


RULES: tuple[Rule, ...] = (
    _rule(
        MISSING,
        Severity.HIGH,
        "The image carries no cosign signature or Sigstore bundle",
        "An unsigned image can come from anywhere: a compromised build, a typo-squatted repository or a"
        " registry an attacker can write to. Nothing ties it to your release process.",
        "Sign the image digest in the release pipeline (`cosign sign --key ...` or keyless `cosign sign`"
        " from the CI workflow) and push the signature to the same repository.",
    ),
    _rule(
        INVALID,
        Severity.HIGH,
        "No signature verifies with a trusted key or certificate chain",
        "A signature that does not verify, was made by another key, or whose certificate does not chain"
        " to the trusted root proves nothing; accepting it would let anyone who can push a `.sig` tag"
        " vouch for an image.",
        "Check that the policy names the key or trusted root the image was signed with; re-sign the image"
        " if the signature was made with a key or Sigstore instance you do not trust.",
    ),
    _rule(
        IDENTITY_MISMATCH,
        Severity.HIGH,
        "The signing certificate names another identity or OIDC issuer than the policy",
        "Keyless certificates are issued to anyone with an OIDC account; only the identity (SAN), the"
        " issuer and the workflow claims say *who* signed. Any valid Fulcio certificate without this check"
        " is a signature by a stranger.",
        "Sign from the workflow or account the policy names, or correct the policy's"
        " certificate-identity / certificate-oidc-issuer (exact or regexp) to the signer you trust.",
    ),
    _rule(
        TLOG_MISSING,
        Severity.HIGH,
        "The signature has no verifiable transparency-log (Rekor) entry",
        "Without a Rekor entry nobody can audit that the key or identity signed this image, and for"
        " keyless signatures there is no trusted time at which the short-lived certificate was valid.",
        "Sign with the transparency log enabled (cosign's default), or, for private deployments that"
        " deliberately run without Rekor, set `ignore-tlog` on the policy authority (`--insecure-ignore-tlog`).",
    ),
    _rule(
        PAYLOAD_MISMATCH,
        Severity.HIGH,
        "The signed payload is for another image digest or repository, or is not an image signature",
        "A valid signature over a payload naming another digest or repository can be copied next to any"
        " image; only the payload binds the signature to this image.",
        "Sign the digest the tag resolves to (for a multi-arch image, the index) in the repository it is"
        " pulled from, or point the policy at the repository that was signed; for a mirror, set the"
        " policy's signed-identity (a prefix -> signed-prefix remap, or digest-only).",
    ),
    _rule(
        POLICY_UNMATCHED,
        Severity.HIGH,
        "No signature policy covers the image",
        "An image that no policy names has no authority that may vouch for it; letting it through would"
        " make every new registry or repository an unchecked path into the cluster.",
        "Add a [[signature.policies]] entry whose images globs cover the repository, with the key or"
        " keyless identity that signs it, or set allow-unmatched = true to let uncovered images through.",
    ),
    _rule(
        ATTESTATION_MISSING,
        Severity.HIGH,
        "The image carries no attestation of a type the policy requires",
        "A policy that asks for SLSA provenance or an SBOM wants to know what built the image and what is"
        " in it; an image without that attestation answers neither, whoever signed it.",
        "Attest the image digest in the release pipeline (`cosign attest --type ...`, or"
        " `actions/attest-build-provenance` with `push-to-registry: true`) and push the attestation to the"
        " repository the image is pulled from.",
        _ATTESTATIONS,
    ),
    _rule(
        ATTESTATION_INVALID,
        Severity.HIGH,
        "No attestation of the required type verifies with the policy's authorities",
        "An attestation is a signed statement: one whose DSSE signature, transparency entry or timestamp,"
        " certificate identity or subject digest does not check out proves nothing, and one that does not"
        " parse cannot be judged; accepting either would let anyone who can push to the registry claim a"
        " build.",
        "Check that the attestation authority names the key or keyless identity (and trusted root) that"
        " attests the image, and that the attestation's subject is the digest the tag resolves to; re-attest"
        " if it was made by a signer you do not trust.",
        _ATTESTATIONS,
    ),
    _rule(
        ATTESTATION_CONDITION,
        Severity.HIGH,
        "A verified attestation does not say what the policy requires",
        "Provenance from another builder, repository or ref, a build type you do not run, an SBOM that is"
        " absent, unparseable or too large, an old attestation, or any predicate field with another value"
        " means the image was not made the way the policy demands, although its attestation is authentic."
        " An absent field never passes.",
        "Build and attest the image with the builder, source and ref the policy names, or correct the"
        " policy's conditions (builder-id, source-uri, source-ref, build-type, sbom, max-age, conditions) to"
        " the build you trust.",
        _ATTESTATIONS,
    ),
    _rule(
        NOTATION_MISSING,
        Severity.HIGH,
        "The image carries no Notary Project (notation) signature",
        "A policy that trusts notation signers accepts an image only with a Notary Project signature"
        " attached to its digest (an OCI referrer of artifact type application/vnd.cncf.notary.signature);"
        " without one nothing ties the image to your signing process.",
        "Sign the digest with `notation sign` in the release pipeline and push the signature to the same"
        " repository (the registry's referrers API, or the sha256-<hex> tag index notation falls back to).",
        _NOTATION,
    ),
    _rule(
        NOTATION_INVALID,
        Severity.HIGH,
        "No Notary Project signature passes the trust policy's enforced checks",
        "The Notary Project specification defines what makes a signature trustworthy: an envelope that"
        " parses and whose critical headers are understood, a signature over the exact protected header"
        " and payload, a code-signing chain to a trust-store root, certificates valid when it was signed"
        " (now, at a verified RFC 3161 timestamp, or at the signing authority's time), and no expiry."
        " A signature failing any enforced check proves nothing.",
        "Read which check failed (integrity, authenticity, authenticTimestamp, expiry) and for which"
        " signature; re-sign with a certificate that chains to a store of the trust policy, or correct the"
        " trust store the policy names. Lower a check to \"log\" only where your trust policy really means it.",
        _NOTATION,
    ),
    _rule(
        NOTATION_IDENTITY_MISMATCH,
        Severity.HIGH,
        "The Notary signing certificate's subject is not a trusted identity",
        "A trust store may hold a CA that issues certificates to many signers; only the trusted identities"
        " (x509.subject: distinguished names) say which of them may sign these images.",
        "Sign with a certificate whose subject has every attribute of a trusted identity, or add the"
        " signer's subject to the statement's trustedIdentities.",
        _NOTATION,
    ),
    _rule(
        NOTATION_PAYLOAD_MISMATCH,
        Severity.HIGH,
        "The Notary signature signs another artifact than the image",
        "The signed payload's target descriptor (digest, size, media type) must be the image's own; a valid"
        " signature of another manifest, copied next to this one, vouches for nothing here.",
        "Sign the digest the reference resolves to (for a multi-arch image, the index) and attach the"
        " signature to it.",
        _NOTATION,
    ),
    _rule(
        NOTATION_REVOCATION_UNCHECKED,
        Severity.HIGH,
        "The signing chain's revocation status cannot be checked offline, and the trust policy enforces it",
        "gates verifies without network access to OCSP responders or CRL distribution points; a certificate"
        " that names them may have been revoked, and a trust policy that enforces revocation must not pass"
        " a signature whose status is unknown.",
        "Check revocation where the endpoints are reachable (notation verify), and set the statement's"
        " signatureVerification override \"revocation\" to \"log\" to accept signatures of unknown status"
        " here, reported as warnings.",
        _NOTATION,
    ),
    _rule(
        NOTATION_POLICY_UNMATCHED,
        Severity.HIGH,
        "No statement of the notation trust policy covers the image's repository",
        "notation applies the statement whose registryScopes name the repository (or the `*` statement);"
        " an image no statement covers has no signer that may vouch for it.",
        "Add the repository (registry/path) to a statement's registryScopes, or add a `*` statement.",
        _NOTATION,
    ),
    _rule(
        NOTATION_CHECK_LOGGED,
        Severity.INFO,
        "A Notary check the trust policy sets to \"log\" failed (or the statement skips verification)",
        "Under the permissive and audit levels, or with overrides, notation reports some failures (expiry,"
        " authenticity, authenticTimestamp, revocation) as warnings and accepts the signature; gates reports"
        " them the same way, so the weakened check stays visible.",
        "Fix the cause the message names (re-sign before expiry, renew the certificate), or raise the"
        " check to \"enforce\" when the warning should fail the run.",
        _NOTATION,
    ),
)

SEVERITIES: dict[str, Severity] = {rule.id: rule.severity for rule in RULES}
"""Rule id (a rejection reason) -> the default severity of its findings."""
