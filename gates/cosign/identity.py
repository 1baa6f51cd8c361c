"""Who a certificate was issued to (SAN, OIDC issuer, GitHub workflow claims) and the policy on it.

A Fulcio certificate is issued to anyone who can log in somewhere; the identity is the only thing that
says who signed. Regular expressions must match the whole value (cosign searches, which lets
`acme/app` also match `evil-acme/app-fork`), and mismatches say what was expected and what was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from gates.cosign import reasons
from gates.cosign.errors import AuthorityError, Rejected

_FULCIO = "1.3.6.1.4.1.57264.1."
OID_ISSUER_V1 = ObjectIdentifier(_FULCIO + "1")
OID_ISSUER_V2 = ObjectIdentifier(_FULCIO + "8")
OID_GITHUB_TRIGGER = ObjectIdentifier(_FULCIO + "2")
OID_GITHUB_REPOSITORY = ObjectIdentifier(_FULCIO + "5")
OID_GITHUB_REF = ObjectIdentifier(_FULCIO + "6")
OID_OTHERNAME_SAN = ObjectIdentifier(_FULCIO + "7")
OID_SOURCE_REPOSITORY_URI = ObjectIdentifier(_FULCIO + "12")
OID_SOURCE_REPOSITORY_REF = ObjectIdentifier(_FULCIO + "14")
OID_BUILD_TRIGGER = ObjectIdentifier(_FULCIO + "20")

_GITHUB = "https://github.com/"


@dataclass(frozen=True)
class KeylessIdentity:
    """Whom a keyless (certificate) signature must come from; cosign's `--certificate-*` flags."""

    identity: str | None = None
    """Exact SAN (email, URI or Fulcio username), as `--certificate-identity`."""
    identity_regexp: str | None = None
    """Regular expression the whole SAN must match, as `--certificate-identity-regexp`."""
    issuer: str | None = None
    """Exact OIDC issuer, as `--certificate-oidc-issuer`."""
    issuer_regexp: str | None = None
    """Regular expression the whole issuer must match."""
    github_repository: str | None = None
    """`owner/repo` the GitHub workflow ran in (Fulcio extension .5, else .12)."""
    github_ref: str | None = None
    """Git ref of the workflow run, e.g. `refs/tags/v1.4` (extension .6, else .14)."""
    github_trigger: str | None = None
    """Event that triggered the workflow, e.g. `push` (extension .2, else .20)."""

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_regexp is None):
            raise AuthorityError("a keyless identity needs exactly one of identity or identity-regexp")
        if self.issuer is not None and self.issuer_regexp is not None:
            raise AuthorityError("a keyless identity takes issuer or issuer-regexp, not both")
        for name, pattern in (("identity_regexp", self.identity_regexp), ("issuer_regexp", self.issuer_regexp)):
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise AuthorityError(f"{name} {pattern!r} is not a valid regular expression: {exc}") from exc

    def describe(self) -> str:
        who = self.identity if self.identity is not None else f"/{self.identity_regexp}/"
        if self.issuer is None and self.issuer_regexp is None:
            return who
        issuer = self.issuer if self.issuer is not None else f"/{self.issuer_regexp}/"
        return f"{who} from {issuer}"

    @property
    def names_issuer(self) -> bool:
        return self.issuer is not None or self.issuer_regexp is not None


@dataclass(frozen=True)
class CertificateIdentity:
    """The identity claims read from a signing certificate."""

    sans: tuple[str, ...]
    issuer: str | None
    github_repository: str | None = None
    github_ref: str | None = None
    github_trigger: str | None = None


def read_identity(cert: x509.Certificate) -> CertificateIdentity:
    """Read SANs and Fulcio extensions; refuses certificates whose two issuer extensions disagree."""
    sans: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        sans.extend(san.get_values_for_type(x509.RFC822Name))
        sans.extend(san.get_values_for_type(x509.UniformResourceIdentifier))
        sans.extend(san.get_values_for_type(x509.DNSName))
        for other in san.get_values_for_type(x509.OtherName):
            if other.type_id == OID_OTHERNAME_SAN:
                value = _der_string(other.value)
                if value is not None:
                    sans.append(value)
    issuer_v1, issuer_v2 = _raw_ext(cert, OID_ISSUER_V1), _der_ext(cert, OID_ISSUER_V2)
    if issuer_v1 is not None and issuer_v2 is not None and issuer_v1 != issuer_v2:
        raise Rejected(
            reasons.IDENTITY_MISMATCH,
            f"certificate names two different OIDC issuers ({issuer_v1!r} and {issuer_v2!r})",
        )
    repository = _raw_ext(cert, OID_GITHUB_REPOSITORY)
    if repository is None:
        uri = _der_ext(cert, OID_SOURCE_REPOSITORY_URI)
        if uri is not None and uri.startswith(_GITHUB):
            repository = uri[len(_GITHUB) :]
    return CertificateIdentity(
        sans=tuple(sans),
        issuer=issuer_v2 if issuer_v2 is not None else issuer_v1,
        github_repository=repository,
        github_ref=_raw_ext(cert, OID_GITHUB_REF) or _der_ext(cert, OID_SOURCE_REPOSITORY_REF),
        github_trigger=_raw_ext(cert, OID_GITHUB_TRIGGER) or _der_ext(cert, OID_BUILD_TRIGGER),
    )


def check_identity(policy: KeylessIdentity, found: CertificateIdentity) -> None:
    """Raise `Rejected(signature-identity-mismatch)` saying expected vs found, or return."""
    shown = ", ".join(found.sans) or "none"
    if policy.identity is not None:
        if policy.identity not in found.sans:
            raise Rejected(
                reasons.IDENTITY_MISMATCH,
                f"certificate identity (SAN) is {shown}, expected {policy.identity}",
            )
    elif policy.identity_regexp is not None and not any(
        re.fullmatch(policy.identity_regexp, san) for san in found.sans
    ):
        raise Rejected(
            reasons.IDENTITY_MISMATCH,
            f"certificate identity (SAN) is {shown}, expected a match of /{policy.identity_regexp}/",
        )
    if policy.names_issuer:
        expected = policy.issuer if policy.issuer is not None else f"a match of /{policy.issuer_regexp}/"
        if found.issuer is None:
            raise Rejected(reasons.IDENTITY_MISMATCH, f"certificate names no OIDC issuer, expected {expected}")
        if policy.issuer is not None:
            ok = found.issuer == policy.issuer
        else:
            ok = re.fullmatch(str(policy.issuer_regexp), found.issuer) is not None
        if not ok:
            raise Rejected(reasons.IDENTITY_MISMATCH, f"certificate OIDC issuer is {found.issuer}, expected {expected}")
    for label, want, have in (
        ("GitHub workflow repository", policy.github_repository, found.github_repository),
        ("GitHub workflow ref", policy.github_ref, found.github_ref),
        ("GitHub workflow trigger", policy.github_trigger, found.github_trigger),
    ):
        if want is not None and want != have:
            raise Rejected(reasons.IDENTITY_MISMATCH, f"certificate {label} is {have or 'absent'}, expected {want}")


def _extension_bytes(cert: x509.Certificate, oid: ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _raw_ext(cert: x509.Certificate, oid: ObjectIdentifier) -> str | None:
    """Deprecated Fulcio extensions (.1-.6) hold the raw UTF-8 string."""
    raw = _extension_bytes(cert, oid)
    if raw is None:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def _der_ext(cert: x509.Certificate, oid: ObjectIdentifier) -> str | None:
    """Newer Fulcio extensions (.8 onwards) hold a DER UTF8String."""
    raw = _extension_bytes(cert, oid)
    return None if raw is None else _der_string(raw)


def _der_string(der: bytes) -> str | None:
    """Decode a DER UTF8String / IA5String / PrintableString; None if it is anything else."""
    if len(der) < 2 or der[0] not in (0x0C, 0x16, 0x13):
        return None
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return None
        length, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if offset + length != len(der):
        return None
    try:
        return der[offset:].decode()
    except UnicodeDecodeError:
        return None
