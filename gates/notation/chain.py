"""Certificate chains of Notary Project signatures: shape, code-signing constraints, trust, time.

The chain an envelope carries must run leaf first, each certificate issued (and signed) by the next,
to a self-signed root, and meet the specification's certificate requirements: CA certificates with
critical basicConstraints (cA) and keyUsage (keyCertSign) and their path length; the leaf no CA,
with a critical keyUsage of digitalSignature and none of the encipherment or signing-of-certificates
bits, and no extended key usage other than code signing would allow (serverAuth, clientAuth,
emailProtection, timeStamping, any); RSA keys of 2048 bits or more, EC keys of 256 or more. Whether the chain
is *trusted* is a separate question (`anchored`), and so is *when* it is valid (`invalid_at`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from gates.notation.errors import EnvelopeError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate, ExtensionType

_Extension = TypeVar("_Extension", bound="ExtensionType")


def subject(cert: Certificate) -> str:
    """The certificate's subject as RFC 4514 text, cut short: a stranger chose it."""
    text = cert.subject.rfc4514_string()
    return text if len(text) <= 200 else text[:195] + "..."


def public_key(cert: Certificate) -> object:
    """The certificate's public key; `EnvelopeError` when it cannot be loaded (a stranger's bytes)."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        return cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise EnvelopeError(f"certificate {subject(cert)!r} has a public key that cannot be loaded") from None


def validate_code_signing_chain(chain: Sequence[Certificate]) -> None:
    """Raise `EnvelopeError` naming the certificate that breaks the specification's certificate requirements."""
    for position, cert in enumerate(chain):
        issuer = chain[position + 1] if position + 1 < len(chain) else cert
        if cert.issuer != issuer.subject or not _signed_by(cert, issuer):
            if issuer is cert:
                raise EnvelopeError(f"the chain ends with {subject(cert)!r}, which is not a self-signed root"
                                    " (the envelope must carry the whole chain)")
            raise EnvelopeError(f"certificate {subject(cert)!r} is not issued by the next one in the chain,"
                                f" {subject(issuer)!r}")
        _check_key_length(cert)
        if position == 0:
            _check_leaf(cert)
        else:
            _check_ca(cert, position - 1)


_FORBIDDEN_LEAF_USAGES = ("key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")


def _check_leaf(cert: Certificate) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise EnvelopeError(f"the signing certificate {subject(cert)!r} is a CA certificate")
    usage, critical = _extension_and_criticality(cert, x509.KeyUsage)
    if usage is None or not critical or not usage.digital_signature:
        raise EnvelopeError(f"the signing certificate {subject(cert)!r} lacks a critical keyUsage with"
                            " digitalSignature")
    forbidden = [name for name in _FORBIDDEN_LEAF_USAGES if getattr(usage, name)]
    if usage.key_agreement and (usage.encipher_only or usage.decipher_only):
        forbidden.append("encipherOnly/decipherOnly")
    if forbidden:
        raise EnvelopeError(f"the signing certificate {subject(cert)!r} has key usage {', '.join(forbidden)},"
                            " which a code-signing certificate must not have")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    refused = (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE, ExtendedKeyUsageOID.SERVER_AUTH,
               ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION,
               ExtendedKeyUsageOID.TIME_STAMPING)
    wrong = [getattr(oid, "_name", oid.dotted_string) for oid in eku or () if oid in refused]
    if wrong:
        raise EnvelopeError(f"the signing certificate {subject(cert)!r} has extended key usage {', '.join(wrong)},"
                            " not code signing")


def _check_ca(cert: Certificate, below: int) -> None:
    """`below`: how many CA certificates the chain has under this one."""
    from cryptography import x509

    constraints, critical = _extension_and_criticality(cert, x509.BasicConstraints)
    if constraints is None or not constraints.ca or not critical:
        raise EnvelopeError(f"certificate {subject(cert)!r} signs another but is not a CA certificate (critical"
                            " basicConstraints with cA true)")
    usage, usage_critical = _extension_and_criticality(cert, x509.KeyUsage)
    if usage is None or not usage_critical or not usage.key_cert_sign:
        raise EnvelopeError(f"CA certificate {subject(cert)!r} lacks a critical keyUsage with keyCertSign")
    if constraints.path_length is not None and below > constraints.path_length:
        raise EnvelopeError(f"CA certificate {subject(cert)!r} allows a path length of {constraints.path_length},"
                            f" the chain has {below} CA certificates below it")


def _check_key_length(cert: Certificate) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = public_key(cert)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise EnvelopeError(f"certificate {subject(cert)!r} has an RSA key of {key.key_size} bits, fewer than 2048")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 256:
        raise EnvelopeError(f"certificate {subject(cert)!r} has an EC key of {key.curve.key_size} bits, fewer"
                            " than 256")
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise EnvelopeError(f"certificate {subject(cert)!r} has a key that is neither RSA nor ECDSA")


def anchored(chain: Sequence[Certificate], trusted: Sequence[Certificate]) -> Certificate | None:
    """The trust-store certificate the chain leads to (one of its own, or the root's issuer), or None."""
    for anchor in trusted:
        if any(cert == anchor for cert in chain):
            return anchor
    top = chain[-1]
    for anchor in trusted:
        if top.issuer == anchor.subject and _signed_by(top, anchor):
            return anchor
    return None


def invalid_at(chain: Sequence[Certificate], when: dt.datetime) -> str | None:
    """Why the chain is not valid at `when` (naming the certificate), or None."""
    for cert in chain:
        if when < cert.not_valid_before_utc:
            return (f"certificate {subject(cert)!r} is not valid before {_stamp(cert.not_valid_before_utc)}"
                    f" (checked at {_stamp(when)})")
        if when > cert.not_valid_after_utc:
            return f"certificate {subject(cert)!r} expired at {_stamp(cert.not_valid_after_utc)} (checked at" \
                   f" {_stamp(when)})"
    return None


def revocation_endpoints(cert: Certificate) -> tuple[str, ...]:
    """The OCSP responders and CRL distribution points a certificate names (where revocation is said)."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    found: list[str] = []
    access = _extension(cert, x509.AuthorityInformationAccess)
    for description in access or ():
        if description.access_method == AuthorityInformationAccessOID.OCSP:
            found.append(f"OCSP {str(description.access_location.value)[:120]}")
    points = _extension(cert, x509.CRLDistributionPoints)
    for point in points or ():
        for name in point.full_name or ():
            found.append(f"CRL {str(name.value)[:120]}")
    return tuple(found)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_by(cert: Certificate, issuer: Certificate) -> bool:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _extension_and_criticality(cert: Certificate, kind: type[_Extension]) -> tuple[_Extension | None, bool]:
    from cryptography import x509

    try:
        found = cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None, False
    except ValueError:
        raise EnvelopeError(f"certificate {subject(cert)!r} has a malformed extension") from None
    return found.value, found.critical


def _extension(cert: Certificate, kind: type[_Extension]) -> _Extension | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        raise EnvelopeError(f"certificate {subject(cert)!r} has a malformed extension") from None
