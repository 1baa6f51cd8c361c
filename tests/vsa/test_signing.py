"""`gates attest --key`: cosign.key opened as cosign writes it, PEM keys, and DSSE signatures over the PAE."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gates.cosign.keys import from_public_key, verify_signature
from gates.errors import UsageError
from gates.vsa.dsse import BUNDLE_MEDIA_TYPE, PAYLOAD_TYPE, key_bundle, pae
from gates.vsa.signing import load_signing_key
from tests.checks_signature import cosign_keys
from tests.checks_signature.cosign_keys import generate_key_pair

PASSWORD = b"hunter2 but longer"


def test_pae_is_dsse_v1() -> None:
    assert pae("application/example", b"hello world") == b"DSSEv1 19 application/example 11 hello world"
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 " + "é".encode()  # lengths in bytes, not characters


def test_cosign_key_opens_with_its_password_and_signs_what_cosign_pub_verifies(tmp_path: Path) -> None:
    pair = generate_key_pair(tmp_path, PASSWORD)
    key = load_signing_key(pair.private_key, PASSWORD)
    public = serialization.load_pem_public_key(pair.public_key.read_bytes())
    assert key.public_der == public.public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    data = pae(PAYLOAD_TYPE, b'{"_type":"x"}')
    assert verify_signature(from_public_key(public).key, key.sign(data), data)
    assert not verify_signature(from_public_key(public).key, key.sign(data), data + b" ")


def test_legacy_cosign_pem_type_opens_too(tmp_path: Path) -> None:
    pair = generate_key_pair(tmp_path, PASSWORD)
    text = pair.private_key.read_text().replace(cosign_keys.PEM_TYPE, cosign_keys.LEGACY_PEM_TYPE)
    pair.private_key.write_text(text)
    assert load_signing_key(pair.private_key, PASSWORD).public_der


@pytest.mark.parametrize(("password", "message"), [
    (b"wrong", "does not open: a wrong COSIGN_PASSWORD"),
    (None, "set COSIGN_PASSWORD"),
])
def test_cosign_key_without_the_right_password_is_a_usage_error(
    tmp_path: Path, password: bytes | None, message: str,
) -> None:
    pair = generate_key_pair(tmp_path, PASSWORD)
    with pytest.raises(UsageError, match=message) as caught:
        load_signing_key(pair.private_key, password)
    assert PASSWORD.decode() not in str(caught.value)


def test_scrypt_parameters_cosign_refuses_are_refused_before_running(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    envelope = json.loads(cosign_keys.encrypt(der, PASSWORD))
    envelope["kdf"]["params"]["N"] = 1 << 30  # would need a terabyte of memory
    body = base64.b64encode(json.dumps(envelope).encode()).decode()
    path = tmp_path / "hostile.key"
    path.write_text(f"-----BEGIN {cosign_keys.PEM_TYPE}-----\n{body}\n-----END {cosign_keys.PEM_TYPE}-----\n")
    with pytest.raises(UsageError, match="unsupported scrypt parameters N=1073741824"):
        load_signing_key(path, PASSWORD)


@pytest.mark.parametrize("make", [
    lambda: ec.generate_private_key(ec.SECP384R1()),
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ed25519.Ed25519PrivateKey.generate,
])
def test_pem_private_keys_sign_as_gates_verifies(tmp_path: Path, make: object) -> None:
    key = make()  # type: ignore[operator]
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(PASSWORD)))
    signer = load_signing_key(path, PASSWORD)
    data = pae(PAYLOAD_TYPE, b"{}")
    assert verify_signature(from_public_key(key.public_key()).key, signer.sign(data), data)


def test_a_public_key_is_not_a_signing_key(tmp_path: Path) -> None:
    pair = generate_key_pair(tmp_path, PASSWORD)
    with pytest.raises(UsageError, match=r"not a private key .*the public half"):
        load_signing_key(pair.public_key, None)
    with pytest.raises(UsageError, match="cannot read"):
        load_signing_key(tmp_path / "missing.key", None)


def test_short_rsa_keys_are_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the key the check must refuse
    path = tmp_path / "short.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(UsageError, match="shorter than 2048"):
        load_signing_key(path, None)


def test_key_bundle_carries_the_envelope_and_the_key_hint() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    doc = json.loads(key_bundle(b"payload", b"sig", der))
    assert doc["mediaType"] == BUNDLE_MEDIA_TYPE
    assert doc["verificationMaterial"]["tlogEntries"] == []
    assert base64.b64decode(doc["verificationMaterial"]["publicKey"]["hint"]) == hashlib.sha256(der).digest()
    envelope = doc["dsseEnvelope"]
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert base64.b64decode(envelope["payload"]) == b"payload"
    assert [base64.b64decode(s["sig"]) for s in envelope["signatures"]] == [b"sig"]
