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

from gates.cosign.dsse import IN_TOTO_PAYLOAD_TYPE
from gates.cosign.dsse import pae as pae

PAYLOAD_TYPE = IN_TOTO_PAYLOAD_TYPE

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


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
