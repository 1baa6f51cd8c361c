"""Certificate chains to a trusted CA at a trusted time, and the embedded SCT of Fulcio certificates.

The time is Rekor's integrated time (from a verified SET): Fulcio certificates live ten minutes, so
"valid now" would reject every real signature and "valid whenever" would accept a stolen key's. The
SCT proves the certificate was published to Certificate Transparency, so a mis-issued certificate
cannot stay secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.certificate_transparency import LogEntryType
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from gates.cosign import reasons
from gates.cosign.errors import Rejected
from gates.cosign.keys import verify_signature
from gates.cosign.trustroot import TrustRoot


def verify_chain(
    leaf: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    at: dt.datetime,
    trust_name: str,
    *,
    fulcio: bool = True,
) -> list[x509.Certificate]:
    """Build a path from `leaf` to one of `anchors` valid at `at`; returns it, leaf first.

    Fulcio chains get the Web PKI profile (what sigstore applies); private CAs (`fulcio=False`) get
    Go's looser rules, as cosign applies them, so real enterprise PKIs without key usage on the root
    still verify; an issuer must still be a CA and the leaf, if it states an EKU, code signing.
    """
    if not anchors:
        raise Rejected(reasons.INVALID, f"{trust_name} holds no certificate authority valid at {_fmt(at)}")
    if fulcio:
        ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
            x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
        )
        ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
        )
    else:
        ca_policy = ExtensionPolicy.permit_all().require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
        ee_policy = ExtensionPolicy.permit_all()
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    if not leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc:
        raise Rejected(
            reasons.INVALID,
            f"certificate was not valid at {_fmt(at)} (valid {_fmt(leaf.not_valid_before_utc)} to"
            f" {_fmt(leaf.not_valid_after_utc)})",
        )
    try:
        verified = verifier.verify(leaf, list(intermediates))
    except (VerificationError, x509.UnsupportedGeneralNameType, ValueError) as exc:
        raise Rejected(reasons.INVALID, f"certificate does not chain to {trust_name} at {_fmt(at)}: {exc}") from exc
    _check_code_signing(leaf, eku_required=fulcio)
    return list(verified.chain)


def fulcio_anchors(root: TrustRoot, at: dt.datetime) -> list[x509.Certificate]:
    """Every certificate of the root's CAs valid for issuing at `at` (intermediates as anchors too)."""
    return [cert for ca in root.certificate_authorities if ca.validity.contains(at) for cert in ca.certificates]


def verify_sct(leaf: x509.Certificate, chain: Sequence[x509.Certificate], root: TrustRoot) -> None:
    """Verify the single embedded precertificate SCT against the root's CT log keys (RFC 6962)."""
    try:
        scts = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        raise Rejected(reasons.INVALID, "certificate carries no signed certificate timestamp (SCT)") from None
    if len(scts) != 1:
        raise Rejected(reasons.INVALID, f"certificate carries {len(scts)} SCTs, expected exactly one")
    sct = scts[0]
    if sct.entry_type != LogEntryType.PRE_CERTIFICATE:
        raise Rejected(reasons.INVALID, "the certificate's SCT is not for a precertificate")
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        raise Rejected(reasons.INVALID, "the certificate's SCT is not signed with SHA-256")
    issuer = _sct_issuer(chain)
    issuer_key_hash = hashlib.sha256(
        issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).digest()
    tbs = leaf.tbs_precertificate_bytes
    when = sct.timestamp.replace(tzinfo=dt.timezone.utc)
    signed = (
        struct.pack("!BBQH", sct.version.value, 0, int(when.timestamp() * 1000), sct.entry_type.value)
        + issuer_key_hash
        + len(tbs).to_bytes(3, "big")
        + tbs
        + struct.pack("!H", len(sct.extension_bytes))
        + sct.extension_bytes
    )
    log = root.ctlog(sct.log_id)
    candidates = [log] if log is not None else list(root.ctlogs)
    for candidate in candidates:
        if not isinstance(candidate.key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            continue
        if verify_signature(candidate.key, sct.signature, signed):
            if not candidate.validity.contains(when):
                raise Rejected(reasons.INVALID, f"SCT time {_fmt(when)} is outside its CT log's validity")
            return
    raise Rejected(reasons.INVALID, f"the certificate's SCT does not verify with any CT log key of {root.source}")


def _sct_issuer(chain: Sequence[x509.Certificate]) -> x509.Certificate:
    if len(chain) < 2:
        raise Rejected(reasons.INVALID, "no issuer certificate to verify the SCT against")
    issuer = chain[1]
    try:
        eku = issuer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY in eku and len(chain) > 2:
            issuer = chain[2]
    except x509.ExtensionNotFound:
        pass
    return issuer


def _check_code_signing(leaf: x509.Certificate, *, eku_required: bool) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise Rejected(reasons.INVALID, "certificate lacks the key usage extension") from exc
    if not usage.digital_signature:
        raise Rejected(reasons.INVALID, "certificate key usage does not allow digital signatures")
    try:
        eku: x509.ExtendedKeyUsage | None = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None and not eku_required:
        return
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise Rejected(reasons.INVALID, "certificate is not issued for code signing (extended key usage)")


def _fmt(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
