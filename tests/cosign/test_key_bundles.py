"""Key-based cosign v3 bundles (DSSE in-toto statement, as `cosign sign --key` writes them), made here."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks.signature import rules as r
from gates.cosign import SIGN_PREDICATE_TYPE, Authority, Rejected, verify_bundle, verify_image_signatures
from tests.cosign.factory import DIGEST, OTHER_DIGEST, REPOSITORY, public_pem, sign, spki

KEY = ec.generate_private_key(ec.SECP256R1())


def bundle(
    subject: str = DIGEST,
    predicate: str = SIGN_PREDICATE_TYPE,
    *,
    signer: ec.EllipticCurvePrivateKey = KEY,
    payload_type: str = "application/vnd.in-toto+json",
) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": subject.split(":")[1]}}],
        "predicateType": predicate,
        "predicate": {},
    }
    body = json.dumps(statement, separators=(", ", ": ")).encode()  # protojson-like spacing: bytes are used as-is
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(body), body)
    doc = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(spki(KEY)).digest()).decode()},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(body).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sign(signer, pae)).decode(), "keyid": ""}],
        },
    }
    return json.dumps(doc).encode()


NO_TLOG = Authority(key=public_pem(KEY), ignore_tlog=True)


def test_valid_key_bundle_verifies() -> None:
    verify_bundle(bundle(), NO_TLOG, DIGEST)
    assert verify_image_signatures(DIGEST, REPOSITORY, [], [bundle()], [NO_TLOG]).verified


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (bundle(subject=OTHER_DIGEST), r.PAYLOAD_MISMATCH),
        (bundle(predicate="https://spdx.dev/Document"), r.PAYLOAD_MISMATCH),
        (bundle(payload_type="application/json"), r.PAYLOAD_MISMATCH),
        (bundle(signer=ec.generate_private_key(ec.SECP256R1())), r.INVALID),
        (b"{", r.INVALID),
    ],
    ids=["other-subject", "sbom-is-not-a-signature", "not-in-toto", "other-key", "not-json"],
)
def test_key_bundle_rejections(data: bytes, rule: str) -> None:
    with pytest.raises(Rejected) as caught:
        verify_bundle(data, NO_TLOG, DIGEST)
    assert caught.value.rule == rule


def test_key_bundle_without_tlog_entry_needs_opt_out() -> None:
    with pytest.raises(Rejected) as caught:
        verify_bundle(bundle(), Authority(key=public_pem(KEY)), DIGEST)
    assert caught.value.rule == r.TLOG_MISSING


def test_key_bundle_against_keyless_authority_and_vice_versa() -> None:
    from gates.cosign import KeylessIdentity

    keyless = Authority(keyless=KeylessIdentity(identity="a@b.example", issuer="https://issuer.example"))
    verdict = verify_image_signatures(DIGEST, REPOSITORY, [], [bundle()], [keyless])
    [reason] = verdict.reasons
    assert reason.rule == r.INVALID and "signed with a key" in reason.message
