"""Cosign's legacy signature manifest (the `sha256-<hex>.sig` tag): one signature per layer.

The annotations live on the `layers[]` descriptors, not in the blobs, and identical payloads share one
blob, so signatures are read per descriptor. A malformed layer becomes a `LegacySignature` with a
`problem` (one line, reported as that signature's reason, never a pass); only a manifest that is not a
signature manifest at all raises, because then nothing can be judged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gates.cosign.errors import MalformedSignatureManifestError, Rejected
from gates.cosign.rekor import RekorEntry, parse_cosign_bundle_annotation

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
ANNOTATION_SIGNATURE = "dev.cosignproject.cosign/signature"
ANNOTATION_CERTIFICATE = "dev.sigstore.cosign/certificate"
ANNOTATION_CHAIN = "dev.sigstore.cosign/chain"
ANNOTATION_BUNDLE = "dev.sigstore.cosign/bundle"
ANNOTATION_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp"
MAX_LAYERS = 1000
"""cosign refuses signature manifests with more layers than this."""


@dataclass(frozen=True)
class LegacySignature:
    """One signature layer of a `.sig` manifest, decoded but not yet verified."""

    index: int
    """1-based position in `layers[]`, for messages."""
    layer_digest: str
    payload: bytes
    """The exact simple-signing payload bytes (the layer blob)."""
    signature: bytes
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    """Issuers from the chain annotation: untrusted, used only as path-building candidates."""
    rekor: RekorEntry | None = None
    rfc3161_timestamp: str | None = None
    """The raw `rfc3161timestamp` annotation; recorded, not verified (no TSA support yet)."""
    problem: str | None = None
    """Why this layer cannot be a valid signature; set instead of the fields above."""

    @property
    def label(self) -> str:
        short = self.layer_digest[: len("sha256:") + 12] if self.layer_digest else "no digest"
        return f"signature layer {self.index} ({short})"


def parse_signature_manifest(
    manifest: bytes | Mapping[str, Any], blobs: Mapping[str, bytes]
) -> tuple[LegacySignature, ...]:
    """Decode every layer of a cosign signature manifest; `blobs` maps layer digest -> payload bytes."""
    doc: Any = manifest
    if isinstance(manifest, bytes | bytearray):
        try:
            doc = json.loads(manifest)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise MalformedSignatureManifestError("signature manifest is not JSON") from exc
    if not isinstance(doc, Mapping):
        raise MalformedSignatureManifestError("signature manifest is not a JSON object")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise MalformedSignatureManifestError("signature manifest has no layers list")
    if len(layers) > MAX_LAYERS:
        raise MalformedSignatureManifestError(
            f"signature manifest has {len(layers)} layers, more than cosign's limit of {MAX_LAYERS}"
        )
    return tuple(parse_layer(i, layer, blobs) for i, layer in enumerate(layers, start=1))


def parse_layer(index: int, descriptor: Any, blobs: Mapping[str, bytes]) -> LegacySignature:
    """Decode one layer descriptor and its blob; never raises for bad content."""
    digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
    digest = digest if isinstance(digest, str) else ""

    def bad(problem: str) -> LegacySignature:
        return LegacySignature(index=index, layer_digest=digest, payload=b"", signature=b"", problem=problem)

    if not isinstance(descriptor, Mapping):
        return bad("layer descriptor is not a JSON object")
    if not digest:
        return bad("layer descriptor has no digest")
    media_type = descriptor.get("mediaType")
    if media_type != SIMPLE_SIGNING_MEDIA_TYPE:
        return bad(f"layer media type is {media_type!r}, not a cosign simple-signing signature")
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        return bad("layer has no annotations (or they are not strings)")
    payload = blobs.get(digest)
    if payload is None:
        return bad(f"payload blob {digest} was not provided")
    algorithm, _, hex_value = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or hashlib.new(algorithm, payload).hexdigest() != hex_value:
        return bad(f"payload blob does not hash to its layer digest {digest}")
    size = descriptor.get("size")
    if size is not None and size != len(payload):
        return bad(f"payload blob is {len(payload)} bytes, the layer descriptor says {size}")

    encoded = annotations.get(ANNOTATION_SIGNATURE)
    if not encoded:
        return bad(f"layer has no {ANNOTATION_SIGNATURE} annotation")
    try:
        # Go's decoder, which wrote and reads these, skips line breaks (some signers wrap at 76).
        signature = base64.b64decode(encoded.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return bad(f"{ANNOTATION_SIGNATURE} annotation is not valid base64")

    certificate = None
    if cert_pem := annotations.get(ANNOTATION_CERTIFICATE):
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem.encode())
        except ValueError:
            return bad(f"{ANNOTATION_CERTIFICATE} annotation is not a PEM certificate")
    chain: tuple[x509.Certificate, ...] = ()
    if chain_pem := annotations.get(ANNOTATION_CHAIN):
        try:
            chain = tuple(x509.load_pem_x509_certificates(chain_pem.encode()))
        except ValueError:
            return bad(f"{ANNOTATION_CHAIN} annotation is not a list of PEM certificates")
    rekor = None
    if bundle_text := annotations.get(ANNOTATION_BUNDLE):
        try:
            rekor = parse_cosign_bundle_annotation(bundle_text)
        except Rejected as exc:
            return bad(exc.message)
    return LegacySignature(
        index=index,
        layer_digest=digest,
        payload=payload,
        signature=signature,
        certificate=certificate,
        chain=chain,
        rekor=rekor,
        rfc3161_timestamp=annotations.get(ANNOTATION_RFC3161) or None,
    )
