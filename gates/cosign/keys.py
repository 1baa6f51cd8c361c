"""Plain public-key signatures, verified with `cryptography` the way cosign makes them.

A legacy layer records no algorithm, so the scheme follows the key: ECDSA with the curve's hash (then
SHA-256, which older clients and `cosign verify` use), RSA PKCS#1 v1.5 or PSS with SHA-256, pure
Ed25519. The `sigstore` library cannot verify plain-key signatures, hence this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from gates.cosign.errors import AuthorityError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_CURVE_HASHES: dict[str, tuple[type[hashes.HashAlgorithm], ...]] = {
    "secp256r1": (hashes.SHA256,),
    "secp384r1": (hashes.SHA384, hashes.SHA256),
    "secp521r1": (hashes.SHA512, hashes.SHA256),
}
_PRIVATE_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY)-----")
_COSIGN_PRIVATE = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")


@dataclass(frozen=True)
class VerificationKey:
    """A loaded public key and its id (sha256 of the DER SubjectPublicKeyInfo), for messages."""

    key: PublicKey
    key_id: str
    """`sha256:<hex>` of the DER SPKI: stable across PEM formatting."""

    @property
    def short_id(self) -> str:
        return self.key_id[: len("sha256:") + 16]

    def describe(self) -> str:
        return f"{_kind(self.key)} key {self.short_id}"


def load_public_key(pem: bytes, source: str = "key") -> VerificationKey:
    """Load a PEM public key of a supported type; raises `AuthorityError` naming `source`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        private = _PRIVATE_PEM.search(pem)
        if private is not None:
            raise AuthorityError(_private_key_message(source, private.group(1).decode())) from None
        raise AuthorityError(f"{source} is not a PEM public key") from exc
    return from_public_key(key, source)


def _private_key_message(source: str, kind: str) -> str:
    """Users confuse `cosign.key` with `cosign.pub`: say so, and how to get the public half (never the key)."""
    if kind in _COSIGN_PRIVATE:
        hint = "the cosign.pub that `cosign generate-key-pair` wrote next to it, or `cosign public-key --key FILE`"
    else:
        hint = "e.g. `openssl pkey -in FILE -pubout`"
    return f"{source} is a private key ({kind}), not a public key: verifying needs the PEM public key ({hint})"


def from_public_key(key: object, source: str = "key") -> VerificationKey:
    """Wrap a `cryptography` public key; refuses types cosign cannot sign with."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASHES:
            raise AuthorityError(f"{source}: unsupported elliptic curve {key.curve.name}")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise AuthorityError(f"{source}: RSA keys shorter than 2048 bits are refused")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise AuthorityError(f"{source}: unsupported key type {type(key).__name__}")
    return VerificationKey(key=key, key_id=key_id(key))


def key_id(key: PublicKey) -> str:
    """`sha256:<hex>` of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def spki_der(key: PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo, used to compare keys whatever their PEM spelling."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether `signature` over `data` verifies with `key` under any scheme cosign signs with."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        ec_key = key
        return any(
            _holds(lambda h=hash_cls: ec_key.verify(signature, data, ec.ECDSA(h())))  # type: ignore[misc]
            for hash_cls in _CURVE_HASHES.get(key.curve.name, (hashes.SHA256,))
        )
    if isinstance(key, rsa.RSAPublicKey):
        rsa_key = key
        return _holds(lambda: rsa_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())) or _holds(
            lambda: rsa_key.verify(signature, data, _pss(), hashes.SHA256())
        )
    ed_key = key
    return _holds(lambda: ed_key.verify(signature, data))


def _holds(check: Callable[[], None]) -> bool:
    try:
        check()
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_prehashed_sha256(key: PublicKey, signature: bytes, digest: bytes) -> bool:
    """Like `verify_signature`, for a signature over data of which only the SHA-256 `digest` is known."""
    prehashed = utils.Prehashed(hashes.SHA256())
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(prehashed))
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, digest, padding.PKCS1v15(), prehashed)
            except InvalidSignature:
                key.verify(signature, digest, _pss(), prehashed)
        else:
            return False  # Ed25519 signs the message itself, never a digest.
    except (InvalidSignature, ValueError):
        return False
    return True


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def _kind(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ECDSA P-256", "secp384r1": "ECDSA P-384", "secp521r1": "ECDSA P-521"}.get(
            key.curve.name, "ECDSA"
        )
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    return "Ed25519"
