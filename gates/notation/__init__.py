"""Notary Project (notation) signatures, verified offline: envelopes, trust stores, trust policies.

Knows no gate. `envelope` parses JWS and COSE envelopes into one shape; `chain` and `timestamp`
judge the certificates and the RFC 3161 countersignature; `truststore` and `trustpolicy` read
notation's own files; `verify` runs the specification's checks (integrity, authenticity, authentic
timestamp, expiry, revocation) at the levels a trust policy statement sets. Heavy imports
(cryptography, cbor2, rfc3161-client) happen inside these modules, never here.
"""

from __future__ import annotations

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
"""The `artifactType` (or config media type) of a Notary Project signature manifest."""
JWS_MEDIA_TYPE = "application/jose+json"
COSE_MEDIA_TYPE = "application/cose"
ENVELOPE_MEDIA_TYPES = (JWS_MEDIA_TYPE, COSE_MEDIA_TYPE)
