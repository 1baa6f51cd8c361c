"""Key-based legacy signatures made here with real keys: what must verify, and what must not."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gates.checks.signature import rules as r
from gates.checks.signature.rules import SEVERITIES
from gates.cosign import (
    Authority,
    AuthorityError,
    MalformedSignatureManifestError,
    ReferenceMatch,
    SignatureError,
    parse_signature_manifest,
    verify_image_signatures,
)
from gates.cosign.keys import key_id, load_public_key
from gates.cosign.layers import ANNOTATION_BUNDLE, ANNOTATION_SIGNATURE, MAX_LAYERS
from tests.cosign.factory import (
    DIGEST,
    OTHER_DIGEST,
    REPOSITORY,
    PrivateKey,
    descriptor,
    key_signed,
    manifest,
    payload,
    public_pem,
    sign,
)

KEYS: dict[str, PrivateKey] = {
    "ecdsa-p256": ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": ec.generate_private_key(ec.SECP384R1()),
    "rsa-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}
OTHER = ec.generate_private_key(ec.SECP256R1())


def no_tlog(key: PrivateKey) -> Authority:
    return Authority(key=public_pem(key), ignore_tlog=True)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_each_key_type_verifies_its_signature(name: str) -> None:
    key = KEYS[name]
    verdict = verify_image_signatures(DIGEST, REPOSITORY, key_signed(key), [], [no_tlog(key)])
    assert verdict.verified
    assert verdict.accepted_by is not None
    assert verdict.reasons == ()


@pytest.mark.parametrize("name", sorted(KEYS))
def test_wrong_key_is_rejected_with_the_key_id(name: str) -> None:
    authority = no_tlog(OTHER)
    verdict = verify_image_signatures(DIGEST, REPOSITORY, key_signed(KEYS[name]), [], [authority])
    assert not verdict.verified
    [reason] = verdict.reasons
    assert reason.rule == r.INVALID
    assert key_id(OTHER.public_key())[:23] in reason.message


def test_rsa_pss_and_p384_with_sha256_are_accepted() -> None:
    rsa_key = KEYS["rsa-2048"]
    p384 = KEYS["ecdsa-p384"]
    body = payload()
    for key, signature in ((rsa_key, sign(rsa_key, body, pss=True)), (p384, sign(p384, body, hash_=hashes.SHA256()))):
        layer = descriptor(body, {ANNOTATION_SIGNATURE: base64.b64encode(signature).decode()})
        sigs = parse_signature_manifest(*manifest((layer, body)))
        assert verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [no_tlog(key)]).verified


def test_p256_signature_with_sha512_is_rejected() -> None:
    key = KEYS["ecdsa-p256"]
    body = payload()
    layer = descriptor(body, {ANNOTATION_SIGNATURE: base64.b64encode(sign(key, body, hash_=hashes.SHA512())).decode()})
    verdict = verify_image_signatures(
        DIGEST, REPOSITORY, parse_signature_manifest(*manifest((layer, body))), [], [no_tlog(key)]
    )
    assert not verdict.verified


def test_modified_payload_is_rejected() -> None:
    key = KEYS["ecdsa-p256"]
    signed = payload()
    served = payload(reference="registry.example.com/acme/app ")  # one byte more, same claims otherwise
    layer = descriptor(served, {ANNOTATION_SIGNATURE: base64.b64encode(sign(key, signed)).decode()})
    verdict = verify_image_signatures(
        DIGEST, REPOSITORY, parse_signature_manifest(*manifest((layer, served))), [], [no_tlog(key)]
    )
    assert [c.rule for c in verdict.reasons] == [r.INVALID]


def test_payload_for_another_digest_says_expected_and_found() -> None:
    key = KEYS["ecdsa-p256"]
    verdict = verify_image_signatures(OTHER_DIGEST, REPOSITORY, key_signed(key), [], [no_tlog(key)])
    [reason] = verdict.reasons
    assert reason.rule == r.PAYLOAD_MISMATCH
    assert DIGEST in reason.message and OTHER_DIGEST in reason.message


@pytest.mark.parametrize(
    ("signed_reference", "verified_as", "match", "ok"),
    [
        ("registry.example.com/acme/app", "registry.example.com/acme/app:1.4", ReferenceMatch.REPOSITORY, True),
        ("registry.example.com/acme/app:1.3", "registry.example.com/acme/app", ReferenceMatch.REPOSITORY, True),
        ("registry.example.com/acme/app", "registry.example.com/evil/app", ReferenceMatch.REPOSITORY, False),
        ("registry.example.com/acme/app", "other.example.com/acme/app", ReferenceMatch.REPOSITORY, False),
        ("alpine", "docker.io/library/alpine", ReferenceMatch.REPOSITORY, True),
        ("index.docker.io/library/alpine", "alpine:3.20", ReferenceMatch.REPOSITORY, True),
        ("registry.example.com/acme/app:1.4", "registry.example.com/acme/app:1.4", ReferenceMatch.EXACT, True),
        ("registry.example.com/acme/app:1.4", "registry.example.com/acme/app:1.5", ReferenceMatch.EXACT, False),
        ("registry.example.com/acme/app", "registry.example.com/acme/app:1.4", ReferenceMatch.EXACT, False),
        ("not a reference", "registry.example.com/acme/app", ReferenceMatch.REPOSITORY, False),
    ],
)
def test_docker_reference_matching(signed_reference: str, verified_as: str, match: ReferenceMatch, ok: bool) -> None:
    key = KEYS["ed25519"]
    sigs = key_signed(key, payload(reference=signed_reference))
    verdict = verify_image_signatures(DIGEST, verified_as, sigs, [], [no_tlog(key)], match=match)
    assert verdict.verified is ok
    if not ok:
        assert verdict.reasons[0].rule == r.PAYLOAD_MISMATCH
        assert signed_reference in verdict.reasons[0].message


@pytest.mark.parametrize(
    "body",
    [
        payload(kind="cosign container image attestation"),
        json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": REPOSITORY},
                    "image": {"Docker-manifest-digest": DIGEST},
                    "type": "cosign container image signature",
                }
            }
        ).encode(),
        json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": REPOSITORY},
                    "image": {"docker-manifest-digest": DIGEST},
                    "type": "cosign container image signature",
                    "extra": 1,
                }
            }
        ).encode(),
        b"[]",
        b"not json",
    ],
    ids=["wrong-type", "capitalised-key", "unknown-critical-key", "array", "not-json"],
)
def test_signed_but_unacceptable_payloads(body: bytes) -> None:
    key = KEYS["ecdsa-p256"]
    verdict = verify_image_signatures(DIGEST, REPOSITORY, key_signed(key, body), [], [no_tlog(key)])
    assert [c.rule for c in verdict.reasons] == [r.PAYLOAD_MISMATCH]


def _one(
    annotations: dict[str, str],
    body: bytes | None = None,
    media_type: str | None = None,
    blobs: dict[str, bytes] | None = None,
) -> str:
    """Verify a single crafted layer with a valid key authority; return its one rejection message."""
    data = body if body is not None else payload()
    layer = descriptor(data, annotations) if media_type is None else descriptor(data, annotations, media_type)
    doc, fetched = manifest((layer, data))
    sigs = parse_signature_manifest(doc, fetched if blobs is None else blobs)
    verdict = verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [no_tlog(KEYS["ecdsa-p256"])])
    assert not verdict.verified
    [reason] = verdict.reasons
    assert reason.rule == r.INVALID
    assert "\n" not in reason.message
    return reason.message


def test_missing_or_malformed_annotations_are_one_line_rejections() -> None:
    good = base64.b64encode(sign(KEYS["ecdsa-p256"], payload())).decode()
    assert "no dev.cosignproject.cosign/signature annotation" in _one({})
    assert "no dev.cosignproject.cosign/signature annotation" in _one({ANNOTATION_SIGNATURE: ""})
    assert "not valid base64" in _one({ANNOTATION_SIGNATURE: "%%%"})
    assert "not a PEM certificate" in _one({ANNOTATION_SIGNATURE: good, "dev.sigstore.cosign/certificate": "junk"})
    assert "malformed Rekor bundle annotation" in _one({ANNOTATION_SIGNATURE: good, ANNOTATION_BUNDLE: "{}"})
    assert "not a cosign simple-signing signature" in _one({ANNOTATION_SIGNATURE: good}, media_type="text/plain")
    assert "was not provided" in _one({ANNOTATION_SIGNATURE: good}, blobs={})


def test_blob_that_does_not_hash_to_its_digest_is_rejected() -> None:
    good = base64.b64encode(sign(KEYS["ecdsa-p256"], payload())).decode()
    layer = descriptor(payload(), {ANNOTATION_SIGNATURE: good})
    doc, _ = manifest((layer, payload()))
    sigs = parse_signature_manifest(doc, {layer["digest"]: payload() + b" "})
    assert "does not hash" in str(sigs[0].problem)
    verdict = verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [no_tlog(KEYS["ecdsa-p256"])])
    assert not verdict.verified


def test_any_one_good_signature_among_bad_ones_suffices() -> None:
    key = KEYS["ecdsa-p256"]
    bad = descriptor(payload(), {ANNOTATION_SIGNATURE: base64.b64encode(sign(OTHER, payload())).decode()})
    good = descriptor(payload(), {ANNOTATION_SIGNATURE: base64.b64encode(sign(key, payload())).decode()})
    sigs = parse_signature_manifest(*manifest((bad, payload()), (good, payload())))
    assert len(sigs) == 2  # identical payloads share one blob, but each descriptor is one signature
    verdict = verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [no_tlog(key)])
    assert verdict.verified
    assert [c.accepted for c in verdict.checks] == [False, True]
    assert verdict.accepted_by is not None and verdict.accepted_by.signature.startswith("signature layer 2")


def test_any_one_authority_suffices() -> None:
    key = KEYS["rsa-2048"]
    verdict = verify_image_signatures(DIGEST, REPOSITORY, key_signed(key), [], [no_tlog(OTHER), no_tlog(key)])
    assert verdict.verified
    assert [c.accepted for c in verdict.checks] == [False, True]


def test_unsigned_image_is_signature_missing() -> None:
    verdict = verify_image_signatures(DIGEST, REPOSITORY, [], [], [no_tlog(OTHER)])
    assert not verdict.verified
    [reason] = verdict.reasons
    assert reason.rule == r.MISSING
    [finding] = verdict.findings("registry.example.com/acme/app:1.4", SEVERITIES)
    assert finding.rule == r.MISSING and finding.resource == "registry.example.com/acme/app:1.4"


def test_findings_carry_one_line_per_signature_with_authority() -> None:
    key = KEYS["ecdsa-p256"]
    verdict = verify_image_signatures(OTHER_DIGEST, REPOSITORY, key_signed(key) + key_signed(OTHER), [], [no_tlog(key)])
    findings = verdict.findings("app:1.4", SEVERITIES)
    assert [f.rule for f in findings] == [r.PAYLOAD_MISMATCH, r.INVALID]
    assert all("signature layer 1" in f.message and "authority: ECDSA P-256 key" in f.message for f in findings)


def test_transparency_is_required_unless_opted_out() -> None:
    key = KEYS["ecdsa-p256"]
    verdict = verify_image_signatures(DIGEST, REPOSITORY, key_signed(key), [], [Authority(key=public_pem(key))])
    [reason] = verdict.reasons
    assert reason.rule == r.TLOG_MISSING
    assert "ignore-tlog = true" in reason.message  # the key as the config spells it


def test_malformed_signature_manifests_raise() -> None:
    with pytest.raises(MalformedSignatureManifestError):
        parse_signature_manifest(b"{not json", {})
    with pytest.raises(MalformedSignatureManifestError):
        parse_signature_manifest({"layers": "nope"}, {})
    with pytest.raises(MalformedSignatureManifestError, match="1000"):
        parse_signature_manifest({"layers": [{}] * (MAX_LAYERS + 1)}, {})
    assert parse_signature_manifest(b'{"layers": []}', {}) == ()


def test_authority_validation(tmp_path: Path) -> None:
    with pytest.raises(AuthorityError):
        Authority()
    with pytest.raises(AuthorityError, match="not a PEM public key"):
        Authority(key=b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(AuthorityError, match="cannot read key"):
        Authority(key=tmp_path / "absent.pub")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refusal is tested)
    with pytest.raises(AuthorityError, match="2048"):
        Authority(key=public_pem(weak))
    path = tmp_path / "cosign.pub"
    path.write_bytes(public_pem(OTHER))
    assert Authority(key=path).describe() == Authority(key=public_pem(OTHER).decode()).describe()
    assert load_public_key(public_pem(OTHER)).key_id == key_id(OTHER.public_key())


def test_bad_inputs_raise_instead_of_judging() -> None:
    key = KEYS["ecdsa-p256"]
    with pytest.raises(AuthorityError):
        verify_image_signatures(DIGEST, REPOSITORY, key_signed(key), [], [])
    with pytest.raises(SignatureError, match="digest"):
        verify_image_signatures("sha256:abc", REPOSITORY, key_signed(key), [], [no_tlog(key)])
    with pytest.raises(SignatureError, match="reference"):
        verify_image_signatures(DIGEST, "UPPER/Case", key_signed(key), [], [no_tlog(key)])
