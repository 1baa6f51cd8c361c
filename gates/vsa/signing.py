"""Signing keys for `gates attest --key`: cosign's `cosign.key`, or a PEM private key.

`cosign.key` (what `cosign generate-key-pair` writes) is a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY`
(older: `ENCRYPTED COSIGN PRIVATE KEY`) holding a JSON envelope: scrypt derives a key from the
password (`COSIGN_PASSWORD`, as cosign reads it), which opens a NaCl secretbox over the PKCS#8 DER.
Only the scrypt parameters cosign's library accepts are run (N 2^15, 2^16 or 2^17, r 8, p 1), so a
hostile key file cannot ask for gigabytes. PyNaCl opens the box (the `cryptography` package has no
XSalsa20-Poly1305); a plain PEM private key (PKCS#8 or traditional, encrypted or not) loads through
`cryptography`. Signatures are those `gates.cosign.keys` verifies: ECDSA with the curve's hash, RSA
PKCS#1 v1.5 with SHA-256, pure Ed25519.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gates.cosign.keys import spki_der
from gates.errors import UsageError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PASSWORD_ENV = "COSIGN_PASSWORD"  # noqa: S105 - the variable that holds it, as cosign names it
_COSIGN_PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
_SCRYPT_PARAMS = frozenset({(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)})
_MAX_KEY_BYTES = 64 * 1024
_CURVE_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512,
}


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key and the DER of its public half."""

    key: PrivateKey
    source: str

    @property
    def public_der(self) -> bytes:
        return spki_der(self.key.public_key())

    def sign(self, data: bytes) -> bytes:
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(_CURVE_HASHES[key.curve.name]()))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key.sign(data)


def load_signing_key(path: Path, password: bytes | None) -> SigningKey:
    """The key at `path`; `UsageError` saying what is wrong (never the password or key material)."""
    source = f"--key {str(path)!r}"
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{source}: cannot read ({exc.strerror or exc})") from None
    if len(data) > _MAX_KEY_BYTES:
        raise UsageError(f"{source}: larger than {_MAX_KEY_BYTES // 1024} KiB, not a key file")
    kind = _pem_type(data)
    if kind in _COSIGN_PEM_TYPES:
        if password is None:
            raise UsageError(f"{source} is an encrypted cosign key: set {PASSWORD_ENV} to its password")
        der = _open_cosign_envelope(_pem_body(data, kind, source), password, source)
        key: object = _load(lambda: serialization.load_der_private_key(der, password=None), source)
    elif kind is not None and kind.endswith("PRIVATE KEY"):
        key = _load(lambda: serialization.load_pem_private_key(data, password=password or None), source)
    else:
        raise UsageError(f"{source}: not a private key (cosign.key or a PEM private key)"
                         + (": that is the public half" if kind == "PUBLIC KEY" else ""))
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _CURVE_HASHES:
        raise UsageError(f"{source}: unsupported elliptic curve {key.curve.name}")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise UsageError(f"{source}: RSA keys shorter than 2048 bits are refused")
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise UsageError(f"{source}: unsupported key type {type(key).__name__}")
    return SigningKey(key, source)


def _load(loader: Any, source: str) -> object:
    try:
        return loader()
    except TypeError:
        raise UsageError(f"{source}: the key is encrypted: set {PASSWORD_ENV} to its password") from None
    except ValueError:
        raise UsageError(f"{source}: the key does not load (a wrong {PASSWORD_ENV}, or a damaged file)") from None


def _pem_type(data: bytes) -> str | None:
    first = data.lstrip().split(b"\n", 1)[0].strip()
    if first.startswith(b"-----BEGIN ") and first.endswith(b"-----"):
        return first[len(b"-----BEGIN "):-5].decode("ascii", "replace")
    return None


def _pem_body(data: bytes, kind: str, source: str) -> bytes:
    lines = data.decode("ascii", "replace").strip().splitlines()
    if len(lines) < 3 or lines[-1].strip() != f"-----END {kind}-----":
        raise UsageError(f"{source}: a damaged PEM block")
    try:
        return base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)
    except binascii.Error:
        raise UsageError(f"{source}: a damaged PEM block (not base64)") from None


def _open_cosign_envelope(envelope: bytes, password: bytes, source: str) -> bytes:
    import nacl.exceptions
    import nacl.secret

    try:
        doc = json.loads(envelope)
        kdf, cipher = doc["kdf"], doc["cipher"]
        params = (kdf["params"]["N"], kdf["params"]["r"], kdf["params"]["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        sealed = base64.b64decode(doc["ciphertext"], validate=True)
        names = (kdf["name"], cipher["name"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise UsageError(f"{source}: not a cosign key envelope") from None
    if names != ("scrypt", "nacl/secretbox"):
        raise UsageError(f"{source}: unsupported key encryption {names[0]!r}/{names[1]!r}")
    if params not in _SCRYPT_PARAMS:
        raise UsageError(f"{source}: unsupported scrypt parameters N={params[0]} r={params[1]} p={params[2]}")
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise UsageError(f"{source}: a nonce of the wrong size")
    n, r, p = params
    box_key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024,
                             dklen=nacl.secret.SecretBox.KEY_SIZE)
    try:
        return nacl.secret.SecretBox(box_key).decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise UsageError(f"{source}: the key does not open: a wrong {PASSWORD_ENV} (or a damaged file)") from None
