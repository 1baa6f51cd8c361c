"""Verify one legacy `.att` layer (a DSSE envelope with cosign's annotations) against one authority.

As for `.sig` layers: first authenticity (a DSSE signature over the PAE by the key or the certificate,
the Rekor SET and an entry body that records this envelope, the chain and identity), only then what the
statement claims. An envelope may carry several signatures; one that verifies suffices.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from gates.attest import reasons
from gates.attest.layers import LegacyAttestation
from gates.attest.statement import Statement, parse_envelope, parse_statement
from gates.cosign import reasons as signature_reasons
from gates.cosign.authority import Authority
from gates.cosign.chain import fulcio_anchors, verify_chain, verify_sct
from gates.cosign.dsse import pae
from gates.cosign.errors import AuthorityError, Rejected
from gates.cosign.identity import check_identity, read_identity
from gates.cosign.keys import from_public_key, spki_der, verify_signature
from gates.cosign.rekor import verify_set
from gates.cosign.transparency import LoggedEntry, check_dsse_body

_TLOG_HINT = "transparency is required unless the policy authority sets ignore-tlog = true (--insecure-ignore-tlog)"


def verify_legacy_attestation(
    layer: LegacyAttestation, authority: Authority, image_digest: str, now: dt.datetime
) -> tuple[Statement, str | None, dt.datetime | None]:
    """(statement, signer SAN or None, verified signing time or None); raises `Rejected` saying why not."""
    if layer.problem is not None:
        raise Rejected(reasons.INVALID, layer.problem)
    envelope = parse_envelope(layer.envelope)
    signed = pae(envelope.payload_type, envelope.payload)
    signer_name: str | None = None
    if authority.verification_key is not None:
        key = authority.verification_key.key
        signer_der: object = spki_der(key)
        what = authority.verification_key.describe()
    else:
        if layer.certificate is None:
            raise Rejected(reasons.INVALID, "attestation carries no certificate, but the authority is keyless")
        try:
            key = from_public_key(layer.certificate.public_key(), "certificate").key
        except AuthorityError as exc:
            raise Rejected(reasons.INVALID, f"certificate key is unusable: {exc}") from exc
        signer_der = layer.certificate
        what = "the certificate's key"
    signature = next((sig for _, sig in envelope.signatures if verify_signature(key, sig, signed)), None)
    if signature is None:
        count = len(envelope.signatures)
        which = f"none of the {count} DSSE signatures" if count > 1 else "the DSSE signature"
        raise Rejected(reasons.INVALID, f"{which} verifies with {what}")

    signed_at: dt.datetime | None = None
    if layer.rekor is None and not authority.ignore_tlog:
        raise Rejected(signature_reasons.TLOG_MISSING, f"attestation has no Rekor bundle (SET); {_TLOG_HINT}")
    if layer.rekor is not None:
        try:
            verify_set(layer.rekor, authority.trust_root())
            check_dsse_body(_logged(layer), envelope.payload_type, envelope.payload, signature,
                            signer_der)  # type: ignore[arg-type]
            signed_at = layer.rekor.integrated_at
        except Rejected:
            if not authority.ignore_tlog:
                raise  # with ignore-tlog a bad entry only gives no time (as for legacy signatures)

    if layer.certificate is not None and authority.keyless is not None:
        root = authority.trust_root()
        at = signed_at or now
        chain = verify_chain(layer.certificate, fulcio_anchors(root, at), list(layer.chain), at,
                             f"the Fulcio CAs of {root.source}")
        if root.ctlogs:
            verify_sct(layer.certificate, chain, root)
        identity = read_identity(layer.certificate)
        check_identity(authority.keyless, identity)
        signer_name = identity.sans[0] if identity.sans else None

    statement = parse_statement(envelope.payload_type, envelope.payload)
    if not statement.names_digest(image_digest):
        raise Rejected(reasons.INVALID, f"statement subjects are {statement.describe_subjects()},"
                       f" expected {image_digest}")
    return statement, signer_name, signed_at


def _logged(layer: LegacyAttestation) -> LoggedEntry:
    """The SET-covered entry with its kind read from the body (cosign logs intoto/0.0.2 or dsse/0.0.1)."""
    assert layer.rekor is not None
    try:
        body = json.loads(base64.b64decode(layer.rekor.body, validate=True))
        kind = f"{body.get('kind')}/{body.get('apiVersion')}"
    except (ValueError, binascii.Error, AttributeError, RecursionError) as exc:
        raise Rejected(reasons.INVALID, "Rekor entry body is not base64 JSON") from exc
    return LoggedEntry({}, kind, layer.rekor.body, layer.rekor.integrated_time, layer.rekor, False)
