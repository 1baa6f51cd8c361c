"""cosign's key files: the test helper that makes and opens them, and the gate given the wrong half.

The helper is checked against go-securesystemslib's own `encrypted` test vectors (the package cosign
encrypts `cosign.key` with) and against the envelope of a real `cosign.key` from cosign's repository,
then used end to end: a key pair written as `cosign generate-key-pair` writes it, the private key
decrypted with its password, an image signed with it in the real registry, `gates signature --key
cosign.pub` passing. Given `cosign.key` itself as `--key`, the gate says a public key is needed.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gates.cosign import Authority
from gates.cosign.errors import AuthorityError
from gates.cosign.keys import verify_signature
from gates.oci.client import RegistryClient
from tests.checks_signature import cosign_keys as ck
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.cosign.factory import sign
from tests.support.registry import RegistryServer

# go-securesystemslib encrypted/encrypted_test.go (MIT): `TestDecrypt` (Legacy parameters, the raw
# plaintext) and `kdfVectors[Standard]` (the parameters cosign v3 writes; plaintext is the JSON
# encoding of the bytes, as `Marshal` wraps them), both under the passphrase "supersecret".
GO_VECTOR_LEGACY = (
    b'{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g="},'
    b'"cipher":{"name":"nacl/secretbox","nonce":"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik"},'
    b'"ciphertext":"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ=="}'
)
GO_VECTOR_STANDARD = (
    b'{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs="},'
    b'"cipher":{"name":"nacl/secretbox","nonce":"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE"},'
    b'"ciphertext":"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8="}'
)
GO_VECTOR_UNSUPPORTED = (
    b'{"kdf":{"name":"scrypt","params":{"N":99,"r":99,"p":99},"salt":"cZFcQJdwPhPyhU1R4qkl0qVOIjZd4V/7LYYAavq166k="},'
    b'"cipher":{"name":"nacl/secretbox","nonce":"7vhRS7j0hEPBWV05skAdgLj81AkGeE7U"},'
    b'"ciphertext":"6WYU/YSXVbYzl/NzaeAzmjLyfFhOOjLc0d8/GFV0aBFdJvyCcXc="}'
)
# sigstore/cosign .github/workflows/cosign-test.key (Apache-2.0): a key cosign itself generated, in the
# older `ENCRYPTED COSIGN PRIVATE KEY` spelling. Its password is a CI secret, so only its envelope and
# the refusal of a wrong password are checked.
COSIGN_CI_KEY = b"""-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiJYcDVZWW5nRVBWNkR1Kzh0Qmdsbll1OEc2YTZOWGVJ
L1M3bXo0VUYvWk1FPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiIyT0YvUFJBQ09sKzRTVTJXVHpycTFHalFML2JlQzQvQiJ9LCJj
aXBoZXJ0ZXh0IjoiMDV6eTlxaWVZWlVjZ0pCZHNndWhSNmd6ZmEvc1RrbnBCZTN0
Z3VsdDlXK0g0bnE3UE9sODFvdUttT0xhY3g5bzhKekhLNDg5SFR5NnNBYnhiWUVX
R3Ewam85RUtSS0x0SU9NTWJ3cVluc2Z3YnVHQzNSNm1CR29CZncwV1pUOEdlMDM1
NEQ2MzlTR1NLSytLMW9IM0xCSVdDWFgxYkllWFFkaFRWQTR4UDExVDFIZzFLM0RY
WXVsUGpydFB0Yk5BVk44YmZUY3VSbHoxTlE9PSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----
"""
PASSWORD = b"hunter2-but-longer"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> ck.CosignKeyPair:
    return ck.generate_key_pair(tmp_path_factory.mktemp("cosign-keys"), PASSWORD)


# -- the helper ----------------------------------------------------------------------------------------


def test_decrypts_go_securesystemslib_vectors() -> None:
    assert ck.decrypt(GO_VECTOR_LEGACY, b"supersecret") == b"reallyimportant"
    wrapped = ck.decrypt(GO_VECTOR_STANDARD, b"supersecret")
    assert base64.b64decode(json.loads(wrapped)) == b"reallyimportant"


def test_unsupported_scrypt_parameters_are_refused() -> None:
    with pytest.raises(ck.CosignKeyError, match="unsupported scrypt parameters N=99 r=99 p=99"):
        ck.decrypt(GO_VECTOR_UNSUPPORTED, b"supersecret")


def test_generated_key_pair_is_written_as_cosign_writes_it(pair: ck.CosignKeyPair) -> None:
    lines = pair.private_key.read_text(encoding="ascii").splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64  # Go's pem.Encode
    envelope = ck.read_envelope(pair.private_key.read_bytes())
    assert b" " not in envelope  # Go's json.Marshal: compact
    doc = json.loads(envelope)
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    assert list(doc["kdf"]) == ["name", "params", "salt"]
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    assert list(doc["kdf"]["params"]) == ["N", "r", "p"]
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox" and len(base64.b64decode(doc["cipher"]["nonce"])) == 24

    plaintext = ck.decrypt(envelope, PASSWORD)
    assert len(base64.b64decode(doc["ciphertext"])) == len(plaintext) + 16  # the Poly1305 tag
    key = serialization.load_der_private_key(plaintext, password=None)  # PKCS#8 DER
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    public = serialization.load_pem_public_key(pair.public_key.read_bytes())
    assert public == key.public_key()
    assert pair.public_key.read_text(encoding="ascii").startswith("-----BEGIN PUBLIC KEY-----\n")
    assert stat.S_IMODE(pair.private_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(pair.public_key.stat().st_mode) == 0o644


def test_loaded_key_signs_what_cosign_pub_verifies(pair: ck.CosignKeyPair) -> None:
    key = ck.load_private_key(pair.private_key, PASSWORD)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    verification = Authority(key=pair.public_key.read_bytes()).verification_key
    assert verification is not None
    assert verify_signature(verification.key, sign(key, b"payload"), b"payload")
    assert not verify_signature(verification.key, sign(key, b"payload"), b"other payload")


def test_wrong_password_is_refused(pair: ck.CosignKeyPair) -> None:
    with pytest.raises(ck.WrongPasswordError, match="wrong password"):
        ck.load_private_key(pair.private_key, b"hunter2")
    with pytest.raises(ck.WrongPasswordError):
        ck.load_private_key(pair.private_key, b"")


def test_tampered_ciphertext_does_not_open(pair: ck.CosignKeyPair) -> None:
    doc = json.loads(ck.read_envelope(pair.private_key.read_bytes()))
    sealed = bytearray(base64.b64decode(doc["ciphertext"]))
    sealed[-1] ^= 1
    doc["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    with pytest.raises(ck.WrongPasswordError):
        ck.decrypt(json.dumps(doc).encode(), PASSWORD)


def test_empty_password_round_trips(tmp_path: Path) -> None:
    made = ck.generate_key_pair(tmp_path, b"", prefix="release")
    assert made.private_key.name == "release.key" and made.public_key.name == "release.pub"
    key = ck.load_private_key(made.private_key, b"")
    assert ck.public_key_pem(key) == made.public_key.read_bytes()


def test_reads_the_envelope_of_a_real_cosign_key() -> None:
    doc = json.loads(ck.read_envelope(COSIGN_CI_KEY))
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert doc["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32 and len(base64.b64decode(doc["cipher"]["nonce"])) == 24
    assert len(base64.b64decode(doc["ciphertext"])) == 138 + 16  # PKCS#8 DER of a P-256 key, plus the tag
    with pytest.raises(ck.WrongPasswordError):  # parsed, derived, the box refuses: not a format error
        ck.load_private_key(COSIGN_CI_KEY, b"not the CI secret")


def test_other_pem_types_are_not_cosign_keys(pair: ck.CosignKeyPair) -> None:
    with pytest.raises(ck.CosignKeyError, match="unsupported pem type: PUBLIC KEY"):
        ck.load_private_key(pair.public_key, PASSWORD)
    with pytest.raises(ck.CosignKeyError, match="invalid pem block"):
        ck.load_private_key(b"not a pem", PASSWORD)


# -- the gate with cosign's key files ------------------------------------------------------------------


def test_image_signed_with_a_generated_cosign_key_passes(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    made = ck.generate_key_pair(tmp_path / "keys", PASSWORD)
    key = ck.load_private_key(made.private_key, PASSWORD)
    ref = fresh(registry, "cosignkey")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(key, digest, ref.name, signers.rekor))
    run = gates(["signature", "--key", "keys/cosign.pub", "--trusted-root", str(signers.trusted_root),
                 "--format", "json", str(ref)])
    assert run.code == 0, run.out + run.err
    [result] = results(run)
    assert result["outcome"] == "passed" and result["details"][0] == f"digest {digest} (image manifest)"
    assert "signature layer 1" in result["details"][1] and "keys/cosign.pub" in result["details"][1]
    other = gates(["signature", "--key", str(signers.other_key_pem), "--trusted-root", str(signers.trusted_root),
                   "--format", "json", str(ref)])
    assert other.code == 1, "signed by the generated key, not by any key"


def test_session_signer_is_a_cosign_key(signers: Signers) -> None:
    """Every key-signed image of these tests is signed with the key decrypted from the session's cosign.key."""
    assert signers.key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    reloaded = ck.load_private_key(signers.key_file, signers.password)
    assert ck.public_key_pem(reloaded) == ck.public_key_pem(signers.key) == signers.key_pem.read_bytes()


def test_private_key_given_as_key_is_a_usage_error(pair: ck.CosignKeyPair, gates: GatesRun) -> None:
    run = gates(["signature", "--key", str(pair.private_key), "registry.example/app:1"])
    assert run.code == 2 and run.out == ""
    [line] = run.err.strip().splitlines()
    assert f"key {pair.private_key} is a private key (ENCRYPTED SIGSTORE PRIVATE KEY), not a public key" in line
    assert "cosign.pub" in line and "cosign public-key" in line
    body = pair.private_key.read_text().splitlines()[1]
    assert body not in run.err


def test_private_key_in_a_policy_is_a_configuration_error(pair: ck.CosignKeyPair, gates: GatesRun,
                                                          tmp_path: Path) -> None:
    config = tmp_path / "gates.toml"
    config.write_text(f"""
[signature]
images = ["registry.example/app:1"]

[[signature.policies]]
images = ["*"]

[[signature.policies.authorities]]
key = "{pair.private_key}"
""", encoding="utf-8")
    run = gates(["signature", "--config", str(config)])
    assert run.code == 2 and run.out == ""
    [line] = run.err.strip().splitlines()
    assert "signature.policies[1].authorities[1]" in line and "is a private key" in line
    assert "verifying needs the PEM public key" in line


def test_library_names_any_private_key_pem(pair: ck.CosignKeyPair) -> None:
    with pytest.raises(AuthorityError, match=r"key is a private key \(ENCRYPTED SIGSTORE PRIVATE KEY\)"):
        Authority(key=pair.private_key.read_bytes())
    plain = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(AuthorityError, match=r"is a private key \(PRIVATE KEY\).*openssl pkey") as caught:
        Authority(key=plain)
    assert plain.decode().splitlines()[1] not in str(caught.value)
    with pytest.raises(AuthorityError, match="is not a PEM public key"):
        Authority(key=b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
