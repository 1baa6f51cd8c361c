"""DSSE as Sigstore bundles carry it: the in-toto payload type, the Pre-Authentication Encoding a DSSE
signature covers, and the base64 text fields of an envelope.

One definition for the readers (bundles, Rekor DSSE entries, legacy `.att` layers) and the writer
(`gates attest`), so what gates signs is what it verifies.
"""

from __future__ import annotations

import base64

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's Pre-Authentication Encoding: `DSSEv1 <len> <type> <len> <payload>`, lengths in bytes.

    The signature covers the type as well as the payload, so a signed statement cannot be replayed as bytes
    of another type."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def base64_field(value: object) -> bytes:
    """A base64 text field, strictly (`TypeError` for a field that is not text, `binascii.Error` for bad base64)."""
    if not isinstance(value, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(value, validate=True)
