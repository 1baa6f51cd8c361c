"""Attest images in a real registry as cosign does, with keys made by the tests.

- `att_layer` / `push_att`: cosign's legacy `sha256-<hex>.att` tag: one layer per attestation, the DSSE
  envelope JSON as the blob (`application/vnd.dsse.envelope.v1+json`), the `predicateType` annotation,
  and a Rekor SET over a `dsse` 0.0.1 entry when a Rekor is given.
- `attestation_bundle` / `attach_attestation`: cosign v3's referrer: a Sigstore bundle v0.3 holding the
  DSSE envelope, attached with the `dev.sigstore.bundle.predicateType` annotation cosign writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor
from gates.oci.reference import Reference
from tests.checks_signature.cosign import BUNDLE_MEDIA_TYPE
from tests.cosign.factory import FakeFulcio, FakeRekor, PrivateKey, pem, public_pem, sign, spki

IN_TOTO = "application/vnd.in-toto+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
SPDX = "https://spdx.dev/Document"
BUILDER = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4"


def provenance(repository: str = "https://github.com/acme/api", ref: str = "refs/tags/v1.4",
               builder: str = BUILDER) -> dict[str, Any]:
    """A SLSA v1 predicate as actions/attest-build-provenance writes it (the fields conditions read)."""
    return {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {"workflow": {"ref": ref, "repository": repository,
                                                "path": ".github/workflows/release.yml"}},
        },
        "runDetails": {"builder": {"id": builder}, "metadata": {"invocationId": "https://github.com/acme/api/1"}},
    }


def spdx(packages: int = 1) -> dict[str, Any]:
    return {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "api",
            "packages": [{"name": f"pkg{n}", "SPDXID": f"SPDXRef-{n}"} for n in range(packages)]}


def statement(subject_hex: str, predicate_type: str, predicate: Any, subject_name: str = "image") -> bytes:
    """A statement about one subject; its name is no image reference unless one is given (`subject_name`)."""
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": subject_name, "digest": {"sha256": subject_hex}}],
                       "predicateType": predicate_type, "predicate": predicate}).encode()


def pae(payload: bytes) -> bytes:
    return b"DSSEv1 %d %b %d %b" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)


def envelope(payload: bytes, keys: Sequence[PrivateKey]) -> dict[str, Any]:
    return {"payloadType": IN_TOTO, "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sign(k, pae(payload))).decode()} for k in keys]}


def dsse_body(payload: bytes, signature: bytes, key: PrivateKey, verifier_pem: bytes | None = None) -> str:
    """A Rekor `dsse` 0.0.1 body recording this payload, signature and key (or certificate), canonicalized."""
    doc = {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256", "value": "0" * 64},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
        "signatures": [{"signature": base64.b64encode(signature).decode(),
                        "verifier": base64.b64encode(verifier_pem or public_pem(key)).decode()}],
    }}
    return base64.b64encode(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).decode()


@dataclass(frozen=True)
class AttLayer:
    blob: bytes
    annotations: dict[str, str]
    media_type: str = DSSE_MEDIA_TYPE


def att_layer(key: PrivateKey, digest: Digest, predicate_type: str, predicate: Any, *,
              rekor: FakeRekor | None = None, subject_hex: str | None = None,
              signing_keys: Sequence[PrivateKey] | None = None, tamper: bool = False,
              subject_name: str = "image") -> AttLayer:
    """A `.att` layer: the envelope signed by `signing_keys` (default `key`), a SET by `rekor` if given."""
    payload = statement(subject_hex or digest.hex, predicate_type, predicate, subject_name)
    doc = envelope(payload, signing_keys or [key])
    annotations = {"predicateType": predicate_type, "dev.cosignproject.cosign/signature": ""}
    if rekor is not None:
        signature = base64.b64decode(doc["signatures"][0]["sig"])
        annotations["dev.sigstore.cosign/bundle"] = rekor.annotation(dsse_body(payload, signature, key))
    if tamper:  # the payload changed after signing: same length, other bytes
        doc["payload"] = base64.b64encode(payload.replace(b"acme", b"evil")).decode()
    return AttLayer(json.dumps(doc).encode(), annotations)


def keyless_att_layer(fulcio: FakeFulcio, rekor: FakeRekor, digest: Digest, predicate_type: str, predicate: Any,
                      *, san: str, issuer: str) -> AttLayer:
    """A keyless `.att` layer: an ephemeral key, its certificate from `fulcio`, the chain, a Rekor SET."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = fulcio.issue(key, san=san, issuer=issuer)
    payload = statement(digest.hex, predicate_type, predicate)
    doc = envelope(payload, [key])
    signature = base64.b64decode(doc["signatures"][0]["sig"])
    return AttLayer(json.dumps(doc).encode(), {
        "predicateType": predicate_type, "dev.cosignproject.cosign/signature": "",
        "dev.sigstore.cosign/certificate": pem(cert),
        "dev.sigstore.cosign/chain": pem(fulcio.intermediate) + pem(fulcio.root),
        "dev.sigstore.cosign/bundle": rekor.annotation(dsse_body(payload, signature, key, pem(cert).encode())),
    })


def push_att(client: RegistryClient, ref: Reference, digest: Digest, *layers: AttLayer) -> None:
    """Push the `.att` manifest for `digest` (ggcr's empty config, one descriptor per layer)."""
    config = b"{}"
    client.put_blob(ref, config)
    descriptors = []
    for lay in layers:
        client.put_blob(ref, lay.blob)
        descriptors.append({"mediaType": lay.media_type, "size": len(lay.blob), "digest": str(Digest.of(lay.blob)),
                            "annotations": lay.annotations})
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "size": len(config), "digest": str(Digest.of(config))},
        "layers": descriptors,
    }).encode()
    client.put_manifest(ref.with_tag(f"{digest.tag_form}.att"), manifest, mediatypes.OCI_MANIFEST)


def attestation_bundle(key: PrivateKey, digest: Digest, predicate_type: str, predicate: Any, *,
                       subject_hex: str | None = None) -> bytes:
    """A key-signed cosign v3 attestation bundle (no tlog entry: verified with ignore-tlog)."""
    payload = statement(subject_hex or digest.hex, predicate_type, predicate)
    return json.dumps({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": base64.b64encode(hashlib.sha256(spki(key)).digest()).decode()},
                                 "tlogEntries": []},
        "dsseEnvelope": envelope(payload, [key]),
    }).encode()


def attach_attestation(client: RegistryClient, ref: Reference, subject: Descriptor, bundle: bytes,
                       predicate_type: str) -> Digest:
    """Push `bundle` as a referrer of `subject`, annotated as cosign v3 annotates attestations."""
    empty = b"{}"
    client.put_blob(ref, empty)
    client.put_blob(ref, bundle)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": mediatypes.OCI_EMPTY, "size": 2, "digest": str(Digest.of(empty))},
        "layers": [{"mediaType": BUNDLE_MEDIA_TYPE, "size": len(bundle), "digest": str(Digest.of(bundle))}],
        "subject": subject.to_json(),
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                        "dev.sigstore.bundle.predicateType": predicate_type},
    }).encode()
    return client.put_manifest(ref.repo_only().with_digest(Digest.of(manifest)), manifest, mediatypes.OCI_MANIFEST)
