"""cosign's and Sigstore's signature formats, verified offline: legacy `.sig` layers and Sigstore bundles.

A library, not a gate: it knows no rule or policy file; rejections carry a reason (`reasons`) that the
signature gate reports as the rule of the same id.

Works on bytes the registry client fetched; `sigstore` is imported only when a keyless bundle is
verified, so importing this package stays cheap.

    sigs = parse_signature_manifest(sig_manifest_bytes, {digest: blob, ...})
    verdict = verify_image_signatures(digest, "ghcr.io/acme/api", sigs, bundles, [Authority(key=Path("cosign.pub"))])
    verdict.verified, verdict.findings("ghcr.io/acme/api:1.4", severities)  # severities by reason, from the gate
"""

from __future__ import annotations

import importlib

from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from gates.cosign.authority import Authority
    from gates.cosign.bundles import SIGN_PREDICATE_TYPE, SigstoreBundle, check_statement, verify_bundle
    from gates.cosign.errors import (
        AuthorityError,
        MalformedSignatureManifestError,
        Rejected,
        SignatureError,
        TrustRootError,
    )
    from gates.cosign.identity import CertificateIdentity, KeylessIdentity, read_identity
    from gates.cosign.layers import LegacySignature, parse_signature_manifest
    from gates.cosign.legacy import verify_legacy
    from gates.cosign.reference import ReferenceMatch
    from gates.cosign.signed_identity import SignedIdentity, identity_problem
    from gates.cosign.verdict import SignatureCheck, Verdict
    from gates.cosign.verify import verify_image_signatures

_EXPORTS: dict[str, str] = {
    "Authority": "gates.cosign.authority",
    "AuthorityError": "gates.cosign.errors",
    "CertificateIdentity": "gates.cosign.identity",
    "KeylessIdentity": "gates.cosign.identity",
    "LegacySignature": "gates.cosign.layers",
    "MalformedSignatureManifestError": "gates.cosign.errors",
    "ReferenceMatch": "gates.cosign.reference",
    "Rejected": "gates.cosign.errors",
    "SIGN_PREDICATE_TYPE": "gates.cosign.bundles",
    "SignatureCheck": "gates.cosign.verdict",
    "SignedIdentity": "gates.cosign.signed_identity",
    "SignatureError": "gates.cosign.errors",
    "SigstoreBundle": "gates.cosign.bundles",
    "TrustRootError": "gates.cosign.errors",
    "Verdict": "gates.cosign.verdict",
    "check_statement": "gates.cosign.bundles",
    "identity_problem": "gates.cosign.signed_identity",
    "parse_signature_manifest": "gates.cosign.layers",
    "read_identity": "gates.cosign.identity",
    "verify_bundle": "gates.cosign.bundles",
    "verify_image_signatures": "gates.cosign.verify",
    "verify_legacy": "gates.cosign.legacy",
}
"""Public name -> defining module, imported on first use so that `gates.checks.signature.rules` stays light."""


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
    "SignedIdentity",
    "SigstoreBundle",
    "TrustRootError",
    "Verdict",
    "check_statement",
    "identity_problem",
    "parse_signature_manifest",
    "read_identity",
    "verify_bundle",
    "verify_image_signatures",
    "verify_legacy",
]
