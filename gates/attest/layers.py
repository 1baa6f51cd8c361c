"""cosign's legacy attestation manifest (the `sha256-<hex>.att` tag): one DSSE envelope per layer.

The layer blob is the envelope JSON (`application/vnd.dsse.envelope.v1+json`); the descriptor's
annotations carry the claimed `predicateType`, and for keyless attestations the certificate, chain and
Rekor SET, as on `.sig` layers. A malformed layer becomes a `LegacyAttestation` with a `problem`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gates.cosign.errors import Rejected
from gates.cosign.layers import ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN
from gates.cosign.rekor import RekorEntry, parse_cosign_bundle_annotation

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
ANNOTATION_PREDICATE_TYPE = "predicateType"


@dataclass(frozen=True)
class LegacyAttestation:
    """One layer of a `.att` manifest, decoded but not verified."""

    label: str
    envelope: bytes
    """The DSSE envelope JSON (the layer blob)."""
    annotated_type: str | None = None
    """The `predicateType` annotation: unauthenticated, used only to skip layers of other types unread."""
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    rekor: RekorEntry | None = None
    problem: str | None = None


def layer_label(index: int, digest: str, where: str = "") -> str:
    short = digest[: len("sha256:") + 12] if digest else "no digest"
    return f"attestation layer {index} ({short}){where}"


def annotated_type(descriptor: Any) -> str | None:
    annotations = descriptor.get("annotations") if isinstance(descriptor, Mapping) else None
    value = annotations.get(ANNOTATION_PREDICATE_TYPE) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else None


def parse_attestation_layer(index: int, descriptor: Any, blob: bytes | None, where: str = "") -> LegacyAttestation:
    """Decode one `.att` layer descriptor and its blob (None: not fetched); never raises for bad content."""
    digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
    digest = digest if isinstance(digest, str) else ""
    label = layer_label(index, digest, where)
    claimed = annotated_type(descriptor)

    def bad(problem: str) -> LegacyAttestation:
        return LegacyAttestation(label, b"", claimed, problem=problem)

    if not isinstance(descriptor, Mapping) or not digest:
        return bad("layer descriptor is not an object with a digest")
    if descriptor.get("mediaType") != DSSE_MEDIA_TYPE:
        return bad(f"layer media type is {str(descriptor.get('mediaType'))[:80]!r}, not a DSSE envelope")
    if blob is None:
        return bad(f"envelope blob {digest} was not provided")
    algorithm, _, hex_value = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or hashlib.new(algorithm, blob).hexdigest() != hex_value:
        return bad(f"envelope blob does not hash to its layer digest {digest}")
    annotations = descriptor.get("annotations")
    annotations = annotations if isinstance(annotations, Mapping) else {}
    certificate = None
    chain: tuple[x509.Certificate, ...] = ()
    rekor = None
    try:
        if cert_pem := annotations.get(ANNOTATION_CERTIFICATE):
            certificate = x509.load_pem_x509_certificate(str(cert_pem).encode())
        if chain_pem := annotations.get(ANNOTATION_CHAIN):
            chain = tuple(x509.load_pem_x509_certificates(str(chain_pem).encode()))
    except ValueError:
        return bad("certificate or chain annotation is not PEM")
    if bundle_text := annotations.get(ANNOTATION_BUNDLE):
        try:
            rekor = parse_cosign_bundle_annotation(str(bundle_text))
        except Rejected as exc:
            return bad(exc.message)
    return LegacyAttestation(label, blob, claimed, certificate, chain, rekor)
