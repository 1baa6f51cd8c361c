"""Verify one legacy cosign signature layer against one authority.

Order matters for honest messages: first whether the signature is authentic (key or certificate,
transparency log, chain, SCT, identity), only then what the payload claims; an unauthenticated payload
naming another digest is reported as an invalid signature, not as a payload mismatch.
"""

from __future__ import annotations

import datetime as dt

from gates.cosign import reasons
from gates.cosign.authority import Authority
from gates.cosign.chain import fulcio_anchors, verify_chain, verify_sct
from gates.cosign.errors import AuthorityError, Rejected
from gates.cosign.identity import check_identity, read_identity
from gates.cosign.keys import from_public_key, spki_der, verify_signature
from gates.cosign.layers import LegacySignature
from gates.cosign.payload import check_payload, parse_payload
from gates.cosign.reference import ReferenceMatch
from gates.cosign.rekor import check_hashedrekord, sha256_hex, verify_set
from gates.cosign.signed_identity import SignedIdentity
from gates.cosign.trustroot import TrustRoot

_TLOG_HINT = "transparency is required unless the policy authority sets ignore-tlog = true (--insecure-ignore-tlog)"


def verify_legacy(
    sig: LegacySignature,
    authority: Authority,
    image_digest: str,
    repository: str,
    match: ReferenceMatch = ReferenceMatch.REPOSITORY,
    *,
    now: dt.datetime | None = None,
    identity: SignedIdentity | None = None,
) -> None:
    """Return if `authority` vouches for `sig` on this image; else raise `Rejected` with the reason.

    `identity`, when given, is the policy's `signed-identity` and replaces `match`.
    """
    if sig.problem is not None:
        raise Rejected(reasons.INVALID, sig.problem)
    if authority.verification_key is not None:
        _verify_with_key(sig, authority)
    else:
        _verify_keyless(sig, authority, now or dt.datetime.now(dt.timezone.utc))
    check_payload(parse_payload(sig.payload), image_digest, repository, match, identity)


def _verify_with_key(sig: LegacySignature, authority: Authority) -> None:
    key = authority.verification_key
    assert key is not None
    if not verify_signature(key.key, sig.signature, sig.payload):
        found = ""
        if sig.certificate is not None:
            found = f" (the layer carries a certificate for {', '.join(read_identity(sig.certificate).sans) or '?'})"
        raise Rejected(reasons.INVALID, f"signature does not verify with {key.describe()}{found}")
    if authority.ignore_tlog:
        return
    if sig.rekor is None:
        raise Rejected(reasons.TLOG_MISSING, f"signature has no Rekor bundle (SET); {_TLOG_HINT}")
    verify_set(sig.rekor, authority.trust_root())
    check_hashedrekord(
        sig.rekor, data_sha256=sha256_hex(sig.payload), signature=sig.signature, signer=spki_der(key.key)
    )


def _verify_keyless(sig: LegacySignature, authority: Authority, now: dt.datetime) -> None:
    identity = authority.keyless
    assert identity is not None
    cert = sig.certificate
    if cert is None:
        raise Rejected(reasons.INVALID,
                       "signature carries no certificate, but the authority expects a keyless signature")
    try:
        cert_key = from_public_key(cert.public_key(), "certificate").key
    except AuthorityError as exc:  # an unsupported key type in a certificate is a bad signature, not a crash
        raise Rejected(reasons.INVALID, f"certificate key is unusable: {exc}") from exc
    if not verify_signature(cert_key, sig.signature, sig.payload):
        raise Rejected(reasons.INVALID, "signature does not verify with the certificate's key")

    root: TrustRoot | None = authority.trust_root() if authority.uses_fulcio or sig.rekor is not None else None
    at = now
    if sig.rekor is not None and (not authority.ignore_tlog or root is not None):
        try:
            assert root is not None
            verify_set(sig.rekor, root)
            check_hashedrekord(sig.rekor, data_sha256=sha256_hex(sig.payload), signature=sig.signature, signer=cert)
            at = sig.rekor.integrated_at
        except Rejected:
            if not authority.ignore_tlog:
                raise
    elif not authority.ignore_tlog:
        raise Rejected(reasons.TLOG_MISSING, f"signature has no Rekor bundle (SET); {_TLOG_HINT}")

    if authority.uses_fulcio:
        assert root is not None
        chain = verify_chain(cert, fulcio_anchors(root, at), list(sig.chain), at, f"the Fulcio CAs of {root.source}")
        verify_sct(cert, chain, root)
    else:
        verify_chain(
            cert,
            authority.ca_root_certificates,
            [*authority.ca_intermediate_certificates, *sig.chain],
            at,
            "the policy's ca_roots",
            fulcio=False,
        )
    check_identity(identity, read_identity(cert))
