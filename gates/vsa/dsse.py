"""DSSE envelopes (PAE signing) in a Sigstore bundle v0.3, the shape `cosign attest --key` writes in v3.

The signature covers the Pre-Authentication Encoding of the payload type and the payload, never the
payload alone, so a signed statement cannot be replayed as bytes of another type. A key bundle names
its key by `publicKey.hint` (base64 of the SHA-256 of the DER SubjectPublicKeyInfo) and carries no
transparency log entry: gates signs offline, so verifiers must accept that (`--insecure-ignore-tlog`).
"""

from __future__ import annotations

import base64
import hashlib
import json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's Pre-Authentication Encoding: `DSSEv1 <len> <type> <len> <payload>`, lengths in bytes."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def key_bundle(payload: bytes, signature: bytes, public_key_der: bytes) -> bytes:
    """A Sigstore bundle holding the DSSE envelope of `payload` signed (over its PAE) by the key."""
    return json.dumps({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(public_key_der).digest()).decode("ascii")},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode("ascii"), "keyid": ""}],
        },
    }, separators=(",", ":")).encode("ascii")
