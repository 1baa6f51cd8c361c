"""Sign images in a real registry exactly as cosign does, with keys and CAs made by the tests.

- `sign_legacy`: the `sha256-<hex>.sig` tag: an OCI manifest whose config is ggcr's empty image
  config over the payloads, one simple-signing layer per signature with cosign's annotations, and the
  payload bytes as the layer blob (what `cosign sign --key` v2 pushes, and v3 with
  `--new-bundle-format=false`).
- `attach_bundle`: cosign v3's referrer: an artifact manifest (`artifactType` bundle v0.3, empty
  config `{}`, one bundle layer, `subject` = the signed manifest). The registry under test (distribution
  2.8) has no referrers API, so the client also maintains the `sha256-<hex>` tag index, as ggcr does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from gates.cosign.bundles import SIGN_PREDICATE_TYPE
from gates.cosign.layers import (
    ANNOTATION_BUNDLE,
    ANNOTATION_CERTIFICATE,
    ANNOTATION_CHAIN,
    ANNOTATION_SIGNATURE,
    SIMPLE_SIGNING_MEDIA_TYPE,
)
from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor
from gates.oci.reference import Reference
from tests.cosign.factory import FakeFulcio, FakeRekor, PrivateKey, payload, pem, public_pem, sign, spki

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@dataclass(frozen=True)
class Layer:
    """One signature layer: the payload bytes and the descriptor annotations."""

    payload: bytes
    annotations: dict[str, str]


def key_layer(key: PrivateKey, digest: Digest, repository: str, rekor: FakeRekor | None = None) -> Layer:
    """A key signature of `digest` by `key`; with `rekor`, also the Rekor SET annotation cosign adds."""
    body = payload(str(digest), repository)
    signature = sign(key, body)
    annotations = {ANNOTATION_SIGNATURE: base64.b64encode(signature).decode()}
    if rekor is not None:
        annotations[ANNOTATION_BUNDLE] = rekor.annotation(rekor.body(body, signature, public_pem(key)))
    return Layer(body, annotations)


def keyless_layer(
    fulcio: FakeFulcio, rekor: FakeRekor, digest: Digest, repository: str, *, san: str, issuer: str
) -> Layer:
    """A keyless signature: an ephemeral key, a certificate from `fulcio` for `san`, a Rekor SET."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = fulcio.issue(key, san=san, issuer=issuer)
    body = payload(str(digest), repository)
    signature = sign(key, body)
    return Layer(body, {
        ANNOTATION_SIGNATURE: base64.b64encode(signature).decode(),
        ANNOTATION_CERTIFICATE: pem(cert),
        ANNOTATION_CHAIN: pem(fulcio.intermediate) + pem(fulcio.root),
        ANNOTATION_BUNDLE: rekor.annotation(rekor.body(body, signature, pem(cert).encode())),
    })


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def sign_legacy(client: RegistryClient, ref: Reference, digest: Digest, *layers: Layer) -> Reference:
    """Push the `.sig` manifest for `digest` into `ref`'s repository; returns its tag reference."""
    config = _json({
        "architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "", "rootfs": {"type": "layers", "diff_ids": [str(Digest.of(lay.payload)) for lay in layers]},
        "config": {},
    })
    client.put_blob(ref, config)
    descriptors = []
    for lay in layers:
        client.put_blob(ref, lay.payload)
        descriptors.append({"mediaType": SIMPLE_SIGNING_MEDIA_TYPE, "size": len(lay.payload),
                            "digest": str(Digest.of(lay.payload)), "annotations": lay.annotations})
    manifest = _json({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "size": len(config), "digest": str(Digest.of(config))},
        "layers": descriptors,
    })
    tag = ref.with_tag(f"{digest.tag_form}.sig")
    client.put_manifest(tag, manifest, mediatypes.OCI_MANIFEST)
    return tag


def key_bundle(key: ec.EllipticCurvePrivateKey, digest: Digest, predicate: str = SIGN_PREDICATE_TYPE) -> bytes:
    """A key-based cosign v3 bundle: a DSSE envelope over an in-toto statement about `digest` (no tlog)."""
    payload_type = "application/vnd.in-toto+json"
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [{"digest": {"sha256": digest.hex}}],
                 "predicateType": predicate, "predicate": {}}
    body = json.dumps(statement, separators=(", ", ": ")).encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(body), body)
    return json.dumps({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(spki(key)).digest()).decode()},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(body).decode(), "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sign(key, pae)).decode(), "keyid": ""}],
        },
    }).encode()


def attach_bundle(client: RegistryClient, ref: Reference, subject: Descriptor, bundle: bytes) -> Digest:
    """Push `bundle` as a referrer of `subject`, in the shape of cosign v3's `WriteAttestationNewBundleFormat`."""
    empty = b"{}"
    client.put_blob(ref, empty)
    client.put_blob(ref, bundle)
    manifest = _json({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": mediatypes.OCI_EMPTY, "size": 2, "digest": str(Digest.of(empty))},
        "layers": [{"mediaType": BUNDLE_MEDIA_TYPE, "size": len(bundle), "digest": str(Digest.of(bundle))}],
        "subject": subject.to_json(),
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                        "dev.sigstore.bundle.predicateType": SIGN_PREDICATE_TYPE,
                        "org.opencontainers.image.created": "2025-06-01T12:00:00Z"},
    })
    return client.put_manifest(ref.repo_only().with_digest(Digest.of(manifest)), manifest, mediatypes.OCI_MANIFEST)
