"""What counts as an image signature among the Sigstore bundles attached to an image (real registry).

`cosign verify` takes only a DSSE in-toto statement whose subject is the image digest. A bundle that
verifies is not enough: a message signature (`cosign sign-blob`) over bytes that happen to be the
manifest, a statement with another predicate or about another digest, or one whose JSON readers
disagree on, are all refused; the genuine bundle next to them still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks.signature import rules as r
from gates.cosign import SIGN_PREDICATE_TYPE
from gates.oci.client import RegistryClient
from tests.checks_signature.conftest import GatesRun, Signers, fresh, results, small_image
from tests.checks_signature.cosign import BUNDLE_MEDIA_TYPE, attach_bundle, key_bundle
from tests.cosign.factory import sign, spki
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def blob_bundle(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """`cosign sign-blob --key --bundle` (v3 format): a message signature over `data`'s sha256."""
    return json.dumps({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(spki(key)).digest()).decode()},
            "tlogEntries": [],
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(hashlib.sha256(data).digest())},
            "signature": base64.b64encode(sign(key, data)).decode(),
        },
    }).encode()


def statement_bundle(key: ec.EllipticCurvePrivateKey, statement: bytes) -> bytes:
    """A key-based DSSE bundle over exactly these statement bytes."""
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(statement), statement)
    return json.dumps({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(spki(key)).digest()).decode()},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(statement).decode(), "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sign(key, pae)).decode(), "keyid": ""}],
        },
    }).encode()


def _statement(hex_digest: str, predicate: str) -> str:
    return (f'{{"_type": "https://in-toto.io/Statement/v1", "subject": [{{"digest": {{"sha256": "{hex_digest}"}}}}],'
            f' "predicateType": "{predicate}", "predicate": {{}}}}')


Forge = Callable[[ec.EllipticCurvePrivateKey, oi.Image, oi.Image], bytes]
"""(signing key, the image, another image in the same repository) -> the bundle to attach to the image."""

FORGERIES: dict[str, tuple[Forge, str]] = {
    "sign-blob-over-the-manifest": (lambda key, img, other: blob_bundle(key, img.manifest), "message signature"),
    "sbom-attestation": (
        lambda key, img, other: key_bundle(key, img.digest, "https://spdx.dev/Document"), "predicate type"),
    "signature-of-another-digest": (lambda key, img, other: key_bundle(key, other.digest), "statement subjects"),
    "predicate-type-twice": (
        lambda key, img, other: statement_bundle(key, _statement(img.digest.hex, "https://spdx.dev/Document")[:-1].encode()
                                                 + f', "predicateType": "{SIGN_PREDICATE_TYPE}"}}'.encode()),
        "ambiguous"),
    "subject-in-upper-case": (
        lambda key, img, other: statement_bundle(key, _statement(img.digest.hex.upper(), SIGN_PREDICATE_TYPE).encode()),
        "statement subjects"),
}


def _args(signers: Signers, ref: str) -> list[str]:
    return ["signature", "--key", str(signers.key_pem), "--trusted-root", str(signers.trusted_root),
            "--insecure-ignore-tlog", "--format", "json", ref]


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_bundle_that_is_no_image_signature_fails(
    name: str, registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    forge, says = FORGERIES[name]
    ref = fresh(registry, "forged")
    img, other = small_image(f"{ref}-image"), small_image(f"{ref}-other")
    oi.push_image(pusher, ref, img)
    oi.push_image(pusher, ref.with_tag("other"), other)
    attach_bundle(pusher, ref, img.descriptor, forge(signers.key, img, other))
    run = gates(_args(signers, str(ref)))
    assert run.code == 1, run.out + run.err
    [result] = results(run)
    assert result["outcome"] == "failed"
    [finding] = result["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH and says in finding["message"], finding


def test_genuine_bundle_verifies_beside_forgeries(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "genuine")
    img, other = small_image(f"{ref}-image"), small_image(f"{ref}-other")
    oi.push_image(pusher, ref, img)
    for forge, _ in FORGERIES.values():
        attach_bundle(pusher, ref, img.descriptor, forge(signers.key, img, other))
    genuine = attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest))
    run = gates(_args(signers, str(ref)))
    assert run.code == 0, run.out + run.err
    [result] = results(run)
    assert result["outcome"] == "passed", result
    [verified_by] = [line for line in result["details"] if "verified" in line]
    assert f"bundle in referrer {str(genuine)[:19]}" in verified_by, result["details"]
