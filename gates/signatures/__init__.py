"""Verification core of the signature gate: cosign legacy signatures and Sigstore bundles, offline.

Works on bytes the registry client fetched; `sigstore` is imported only when a keyless bundle is
verified, so importing this package stays cheap.

    sigs = parse_signature_manifest(sig_manifest_bytes, {digest: blob, ...})
    verdict = verify_image_signatures(digest, "ghcr.io/acme/api", sigs, bundles, [Authority(key=Path("cosign.pub"))])
    verdict.verified, verdict.findings("ghcr.io/acme/api:1.4")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS: dict[str, str] = {
    "Authority": "gates.signatures.authority",
    "AuthorityError": "gates.signatures.errors",
    "CertificateIdentity": "gates.signatures.identity",
    "KeylessIdentity": "gates.signatures.identity",
    "LegacySignature": "gates.signatures.layers",
    "MalformedSignatureManifestError": "gates.signatures.errors",
    "ReferenceMatch": "gates.signatures.reference",
    "Rejected": "gates.signatures.errors",
    "SIGN_PREDICATE_TYPE": "gates.signatures.bundles",
    "SignatureCheck": "gates.signatures.verdict",
    "SignatureError": "gates.signatures.errors",
    "SigstoreBundle": "gates.signatures.bundles",
    "TrustRootError": "gates.signatures.errors",
    "Verdict": "gates.signatures.verdict",
    "check_statement": "gates.signatures.bundles",
    "parse_signature_manifest": "gates.signatures.layers",
    "read_identity": "gates.signatures.identity",
    "verify_bundle": "gates.signatures.bundles",
    "verify_image_signatures": "gates.signatures.verify",
    "verify_legacy": "gates.signatures.legacy",
}
"""Public name -> defining module, imported on first use so that `gates.signatures.rules` stays light."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
