"""The envelope's signature, verified with `cryptography` against the leaf certificate's key.

The algorithm must match the key (RSASSA-PSS with salt length = hash length for RSA of 2048 bits or
more; ECDSA on the curve of its hash), as the specification requires against algorithm substitution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gates.notation.errors import EnvelopeError

if TYPE_CHECKING:
    from gates.notation.envelope import Envelope

_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def verify_signature(envelope: Envelope) -> None:
    """Raise `EnvelopeError` unless the leaf's key signed exactly `envelope.signed_bytes`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    algorithm = envelope.algorithm
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[algorithm[2:]]
    from gates.notation.chain import public_key

    key = public_key(envelope.leaf)
    try:
        if algorithm.startswith("PS"):
            if not isinstance(key, rsa.RSAPublicKey):
                raise EnvelopeError(f"alg {algorithm} needs an RSA signing key; the leaf certificate has another")
            if key.key_size < 2048:
                raise EnvelopeError(f"the leaf certificate's RSA key has {key.key_size} bits, fewer than 2048")
            key.verify(envelope.signature, envelope.signed_bytes,
                       padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), digest)
            return
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != _CURVES[algorithm]:
            raise EnvelopeError(f"alg {algorithm} needs an ECDSA {_CURVES[algorithm]} key; the leaf certificate"
                                " has another")
        size = (key.curve.key_size + 7) // 8
        if len(envelope.signature) != 2 * size:
            raise EnvelopeError(f"the {algorithm} signature is {len(envelope.signature)} bytes, not {2 * size}")
        r = int.from_bytes(envelope.signature[:size], "big")
        s = int.from_bytes(envelope.signature[size:], "big")
        key.verify(encode_dss_signature(r, s), envelope.signed_bytes, ec.ECDSA(digest))
    except InvalidSignature:
        raise EnvelopeError("the signature does not verify with the leaf certificate's key") from None
