"""Verification core of the signature gate: cosign legacy signatures and Sigstore bundles, offline.

Works on bytes the registry client fetched; `sigstore` is imported only when a keyless bundle is
verified, so importing this package stays cheap.

    sigs = parse_signature_manifest(sig_manifest_bytes, {digest: blob, ...})
    verdict = verify_image_signatures(digest, "ghcr.io/acme/api", sigs, bundles, [Authority(key=Path("cosign.pub"))])
    verdict.verified, verdict.findings("ghcr.io/acme/api:1.4")
"""

from __future__ import annotations

from gates.signatures.authority import Authority
from gates.signatures.bundles import SIGN_PREDICATE_TYPE, SigstoreBundle, check_statement, verify_bundle
from gates.signatures.errors import (
    AuthorityError,
    MalformedSignatureManifestError,
    Rejected,
    SignatureError,
    TrustRootError,
)
from gates.signatures.identity import CertificateIdentity, KeylessIdentity, read_identity
from gates.signatures.layers import LegacySignature, parse_signature_manifest
from gates.signatures.legacy import verify_legacy
from gates.signatures.reference import ReferenceMatch
from gates.signatures.verdict import SignatureCheck, Verdict
from gates.signatures.verify import verify_image_signatures

__all__ = [
    "SIGN_PREDICATE_TYPE",
    "Authority",
    "AuthorityError",
    "CertificateIdentity",
    "KeylessIdentity",
    "LegacySignature",
    "MalformedSignatureManifestError",
    "ReferenceMatch",
    "Rejected",
    "SignatureCheck",
    "SignatureError",
    "SigstoreBundle",
    "TrustRootError",
    "Verdict",
    "check_statement",
    "parse_signature_manifest",
    "read_identity",
    "verify_bundle",
    "verify_image_signatures",
    "verify_legacy",
]
