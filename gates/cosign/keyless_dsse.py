"""Keyless DSSE bundles that `sigstore` cannot verify, checked here step by step against the trusted root.

sigstore-python 4 refuses three real kinds of bundle: GitHub's own Sigstore instance (a TSA timestamp,
no transparency log: its trusted root has no `tlogs`), Rekor `intoto/0.0.2` entries (what
`actions/attest-build-provenance` logged until 2024), and v0.1 bundles whose entry has a SET but no
inclusion proof. The steps are the same as sigstore's: a verified time (TSA token or log entry; a log
entry in any case when the root lists transparency logs, as only an instance without them may timestamp
alone), the certificate chain to a Fulcio CA of the root at that time, the SCT when the root lists CT
logs, the identity policy, the signature over the PAE, and the log body consistent with all of it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from cryptography import x509

from gates.cosign import reasons
from gates.cosign.authority import Authority
from gates.cosign.chain import fulcio_anchors, verify_chain, verify_sct
from gates.cosign.dsse import pae
from gates.cosign.errors import AuthorityError, Rejected
from gates.cosign.identity import check_identity, read_identity
from gates.cosign.keys import from_public_key, verify_signature
from gates.cosign.transparency import check_dsse_body, parse_entries, verify_logged, verify_timestamps

_TLOG_HINT = "transparency is required unless the policy authority sets ignore-tlog = true (--insecure-ignore-tlog)"


def sigstore_can_verify(doc: dict[str, Any], authority: Authority) -> bool:
    """Whether sigstore's Verifier accepts this bundle's shape (one v1 entry with a proof, a root with logs)."""
    material = doc.get("verificationMaterial")
    entries = material.get("tlogEntries") if isinstance(material, dict) else None
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        return False
    kind = entries[0].get("kindVersion")
    if not isinstance(kind, dict) or (kind.get("kind"), kind.get("version")) not in (
        ("dsse", "0.0.1"), ("hashedrekord", "0.0.2")
    ):
        return False
    return bool(entries[0].get("inclusionProof")) and bool(authority.trust_root().tlogs)


def verify_keyless_dsse(doc: dict[str, Any], authority: Authority, now: dt.datetime | None = None) -> tuple[str, bytes]:
    """Verify a keyless DSSE bundle; returns (payloadType, payload). Raises `Rejected` saying why not."""
    identity = authority.keyless
    assert identity is not None
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise Rejected(reasons.INVALID, "bundle has no verificationMaterial")
    cert, extra = _certificates(material)
    envelope = doc.get("dsseEnvelope")
    try:
        payload_type = envelope["payloadType"]  # type: ignore[index]
        payload = base64.b64decode(envelope["payload"], validate=True)  # type: ignore[index]
        signatures = envelope["signatures"]  # type: ignore[index]
        if not isinstance(payload_type, str) or not isinstance(signatures, list) or len(signatures) != 1:
            raise Rejected(reasons.INVALID, "DSSE envelope must carry a payload type and exactly one signature")
        signature = base64.b64decode(signatures[0]["sig"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected(reasons.INVALID, f"DSSE envelope is malformed ({exc.__class__.__name__})") from exc
    try:
        cert_key = from_public_key(cert.public_key(), "certificate").key
    except AuthorityError as exc:
        raise Rejected(reasons.INVALID, f"certificate key is unusable: {exc}") from exc
    if not verify_signature(cert_key, signature, pae(payload_type, payload)):
        raise Rejected(reasons.INVALID, "DSSE signature does not verify with the certificate's key")

    root = authority.trust_root()
    times = verify_timestamps(material, signature, root)
    entries = parse_entries(material, doc.get("mediaType"))
    for entry in entries:
        logged_at = verify_logged(entry, root, authority.trusted_root)
        check_dsse_body(entry, payload_type, payload, signature, cert)
        if logged_at is not None:
            times.append(logged_at)
    if root.tlogs and not entries and not authority.ignore_tlog:  # an instance that logs: a time is no entry
        raise Rejected(reasons.TLOG_MISSING, f"bundle has no log entry, though trusted root {root.source} names"
                       f" transparency logs (a timestamp alone is enough only where none is kept); {_TLOG_HINT}")
    if not times:
        if not authority.ignore_tlog:
            raise Rejected(reasons.TLOG_MISSING, f"bundle has no verified log entry or trusted timestamp; {_TLOG_HINT}")
        times = [now or dt.datetime.now(dt.timezone.utc)]
    for at in times:
        chain = verify_chain(cert, fulcio_anchors(root, at), extra, at, f"the Fulcio CAs of {root.source}")
    if root.ctlogs:
        verify_sct(cert, chain, root)
    check_identity(identity, read_identity(cert))
    return payload_type, payload


def _certificates(material: dict[str, Any]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The leaf (v0.3 `certificate`, or the first of a v0.1/v0.2 chain) and any untrusted intermediates."""
    try:
        if "certificate" in material:
            raw = [material["certificate"]["rawBytes"]]
        elif "x509CertificateChain" in material:
            raw = [c["rawBytes"] for c in material["x509CertificateChain"]["certificates"]]
        else:
            raise Rejected(reasons.INVALID, "bundle is keyless but carries no certificate")
        certs = [x509.load_der_x509_certificate(base64.b64decode(r, validate=True)) for r in raw]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected(reasons.INVALID, f"bundle certificate is malformed ({exc.__class__.__name__})") from exc
    if not certs:
        raise Rejected(reasons.INVALID, "bundle certificate chain is empty")
    return certs[0], certs[1:]
