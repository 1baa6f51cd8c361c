"""cosign's own key files, made and opened by the tests: `cosign.key` (encrypted) and `cosign.pub`.

What `cosign generate-key-pair` writes (cosign `pkg/cosign/keys.go` `marshalKeyPair`, encryption by
go-securesystemslib `encrypted.Encrypt`, which cosign v3 pins at v0.11.0):

- `cosign.key`, mode 0600: a PEM block of type `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign wrote
  `ENCRYPTED COSIGN PRIVATE KEY`; both load). Its bytes are compact JSON, as Go's `json.Marshal` writes
  it, fields in this order, `[]byte` values as standard padded base64:

      {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":<32 bytes>},
       "cipher":{"name":"nacl/secretbox","nonce":<24 bytes>},"ciphertext":<secretbox.Seal output>}

  The box key is scrypt(password, salt, N, r, p, 32 bytes); the sealed plaintext is the PKCS#8 DER of
  the private key (ECDSA P-256 for `generate-key-pair`). `secretbox.Seal` output is the 16-byte
  Poly1305 tag followed by the XSalsa20 ciphertext, which is what libsodium (PyNaCl) produces too.
  Decryption accepts only the three parameter sets go-securesystemslib knows (Legacy N=2^15, Standard
  N=2^16, OWASP N=2^17, all r=8 p=1) and refuses others before running scrypt, as `CheckParams` does.
- `cosign.pub`, mode 0644: the PKIX `PUBLIC KEY` PEM (`cryptoutils.MarshalPublicKeyToPEM`).

An empty password is allowed, as with `COSIGN_PASSWORD=""`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cosign.factory import PrivateKey

PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
LEGACY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
KDF_NAME = "scrypt"
CIPHER_NAME = "nacl/secretbox"
SALT_SIZE = 32
KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE  # 32
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24

LEGACY_PARAMS = (32768, 8, 1)
STANDARD_PARAMS = (65536, 8, 1)
"""What `encrypted.Encrypt` uses, hence what every key cosign v2.2+ / v3 generates carries."""
OWASP_PARAMS = (131072, 8, 1)
ACCEPTED_PARAMS = frozenset({LEGACY_PARAMS, STANDARD_PARAMS, OWASP_PARAMS})
_SCRYPT_MAXMEM = 256 * 1024 * 1024  # N=2^17, r=8 needs 128 MiB; hashlib's default cap is 32 MiB


class CosignKeyError(ValueError):
    """A key file that is not a cosign encrypted private key, or whose envelope is malformed."""


class WrongPasswordError(CosignKeyError):
    """The secretbox did not open: a wrong password (or a ciphertext that was tampered with)."""


@dataclass(frozen=True)
class CosignKeyPair:
    """The two files `cosign generate-key-pair` leaves behind."""

    private_key: Path
    public_key: Path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: bytes, salt: bytes, params: tuple[int, int, int]) -> bytes:
    n, r, p = params
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=KEY_SIZE)


def encrypt(
    plaintext: bytes, password: bytes, *, params: tuple[int, int, int] = STANDARD_PARAMS,
    salt: bytes | None = None, nonce: bytes | None = None,
) -> bytes:
    """The JSON envelope `encrypted.Encrypt` writes (random salt and nonce unless given)."""
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    nonce = nacl.utils.random(NONCE_SIZE) if nonce is None else nonce
    if len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes and nonce {NONCE_SIZE} bytes")
    box = nacl.secret.SecretBox(_scrypt(password, salt, params))
    sealed = box.encrypt(plaintext, nonce).ciphertext  # tag + ciphertext, without the nonce prefix
    n, r, p = params
    envelope = {
        "kdf": {"name": KDF_NAME, "params": {"N": n, "r": r, "p": p}, "salt": _b64(salt)},
        "cipher": {"name": CIPHER_NAME, "nonce": _b64(nonce)},
        "ciphertext": _b64(sealed),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def decrypt(envelope: bytes, password: bytes) -> bytes:
    """Open an `encrypted` JSON envelope; `WrongPasswordError` when the box does not open."""
    try:
        doc = json.loads(envelope)
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != KDF_NAME:
            raise CosignKeyError(f"unknown kdf name {kdf['name']!r}")
        if cipher["name"] != CIPHER_NAME:
            raise CosignKeyError(f"unknown cipher name {cipher['name']!r}")
        raw = kdf["params"]
        params = (raw["N"], raw["r"], raw["p"])
        salt, nonce = _unb64(kdf["salt"]), _unb64(cipher["nonce"])
        sealed = _unb64(doc["ciphertext"])
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, CosignKeyError):
            raise
        raise CosignKeyError(f"not an encrypted-key envelope: {exc}") from exc
    if params not in ACCEPTED_PARAMS:
        raise CosignKeyError(f"unsupported scrypt parameters N={params[0]} r={params[1]} p={params[2]}")
    if len(nonce) != NONCE_SIZE:
        raise CosignKeyError("incorrect nonce size")
    box = nacl.secret.SecretBox(_scrypt(password, salt, params))
    try:
        return box.decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise WrongPasswordError("decrypt: wrong password (or a damaged key file)") from None


def _unb64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected a base64 string, found {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from exc


def _pem(kind: str, der: bytes) -> bytes:
    """A PEM block as Go's `pem.EncodeToMemory` writes it: 64-column base64 lines."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"]) + "\n").encode()


def private_key_pem(key: PrivateKey, password: bytes, *, params: tuple[int, int, int] = STANDARD_PARAMS) -> bytes:
    """`cosign.key` content for `key`: its PKCS#8 DER sealed under `password`."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return _pem(PEM_TYPE, encrypt(der, password, params=params))


def public_key_pem(key: PrivateKey) -> bytes:
    """`cosign.pub` content for `key`."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _pem("PUBLIC KEY", der)


def generate_key_pair(directory: Path, password: bytes, prefix: str = "cosign") -> CosignKeyPair:
    """`cosign generate-key-pair --output-key-prefix PREFIX` in `directory`: a fresh ECDSA P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1())
    directory.mkdir(parents=True, exist_ok=True)
    pair = CosignKeyPair(directory / f"{prefix}.key", directory / f"{prefix}.pub")
    pair.private_key.write_bytes(private_key_pem(key, password))
    pair.private_key.chmod(0o600)
    pair.public_key.write_bytes(public_key_pem(key))
    pair.public_key.chmod(0o644)
    return pair


def read_envelope(pem: bytes) -> bytes:
    """The JSON envelope inside a `cosign.key` PEM; `CosignKeyError` for any other PEM type."""
    text = pem.decode("ascii", errors="replace").strip()
    lines = text.splitlines()
    if len(lines) < 3 or not lines[0].startswith("-----BEGIN ") or not lines[0].endswith("-----"):
        raise CosignKeyError("invalid pem block")
    kind = lines[0].removeprefix("-----BEGIN ").removesuffix("-----")
    if kind not in (PEM_TYPE, LEGACY_PEM_TYPE):
        raise CosignKeyError(f"unsupported pem type: {kind}")
    if lines[-1] != f"-----END {kind}-----":
        raise CosignKeyError("invalid pem block")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error as exc:
        raise CosignKeyError(f"invalid pem block: {exc}") from exc


def load_private_key(pem: bytes | Path, password: bytes) -> PrivateKey:
    """cosign's `LoadPrivateKey`: decrypt `cosign.key` with `password`, parse the PKCS#8 DER."""
    data = pem.read_bytes() if isinstance(pem, Path) else pem
    der = decrypt(read_envelope(data), password)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError as exc:
        raise CosignKeyError(f"parsing private key: {exc}") from exc
    if not isinstance(key, PrivateKey):
        raise CosignKeyError(f"unsupported private key type {type(key).__name__}")
    return key
