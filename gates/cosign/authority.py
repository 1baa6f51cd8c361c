"""Who may sign an image: a public key, or a keyless identity under a trusted root or private CA.

An authority is validated when built (a key that does not load, a keyless identity without an issuer
under Fulcio), so a broken policy fails at configuration time, not as a mysterious rejection later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509

from gates.cosign.errors import AuthorityError, TrustRootError
from gates.cosign.identity import KeylessIdentity
from gates.cosign.keys import VerificationKey, load_public_key
from gates.cosign.trustroot import TrustRoot, load_trust_root

PemSource = bytes | str | os.PathLike[str]
"""PEM content as bytes (or text starting with `-----BEGIN`), or a path to a PEM file."""


@dataclass(frozen=True)
class Authority:
    """One acceptable signer; an image passes if any authority verifies any of its signatures."""

    key: PemSource | None = None
    """A PEM public key (ECDSA P-256/P-384/P-521, RSA, Ed25519), as cosign's `--key`."""
    keyless: KeylessIdentity | None = None
    """The certificate identity a keyless signature must carry."""
    trusted_root: str | os.PathLike[str] | None = None
    """A `trusted_root.json` (private Sigstore); default: the production root embedded in `sigstore`."""
    ignore_tlog: bool = False
    """Accept signatures without a verified Rekor entry, as cosign's `--insecure-ignore-tlog`."""
    ca_roots: PemSource | None = None
    """Bring-your-own PKI: PEM root certificates replacing Fulcio (no SCT check), as `--ca-roots`."""
    ca_intermediates: PemSource | None = None
    """Bring-your-own PKI: PEM intermediates, as `--ca-intermediates`."""
    name: str | None = None
    """How messages name this authority; default: the key id or the identity."""

    def __post_init__(self) -> None:
        if (self.key is None) == (self.keyless is None):
            raise AuthorityError("an authority needs exactly one of key or keyless")
        if self.key is not None and (self.ca_roots is not None or self.ca_intermediates is not None):
            raise AuthorityError("ca_roots and ca_intermediates apply to keyless authorities only")
        if self.ca_intermediates is not None and self.ca_roots is None:
            raise AuthorityError("ca_intermediates needs ca_roots")
        if self.keyless is not None and self.ca_roots is None and not self.keyless.names_issuer:
            raise AuthorityError("a keyless authority under Fulcio needs an OIDC issuer (exact or regexp)")
        if self.key is not None:
            _ = self.verification_key
        if self.ca_roots is not None:
            if not self.ca_root_certificates:
                raise AuthorityError("ca_roots holds no certificate")
            _ = self.ca_intermediate_certificates

    @cached_property
    def verification_key(self) -> VerificationKey | None:
        if self.key is None:
            return None
        return load_public_key(_read_pem(self.key, "key"), _source(self.key, "key"))

    @cached_property
    def ca_root_certificates(self) -> tuple[x509.Certificate, ...]:
        return _certificates(self.ca_roots, "ca_roots")

    @cached_property
    def ca_intermediate_certificates(self) -> tuple[x509.Certificate, ...]:
        return _certificates(self.ca_intermediates, "ca_intermediates")

    @property
    def uses_fulcio(self) -> bool:
        return self.keyless is not None and self.ca_roots is None

    def trust_root(self) -> TrustRoot:
        """The trusted root for SETs, Fulcio and CT logs (loaded lazily, cached per path)."""
        return load_trust_root(self.trusted_root)

    def describe(self) -> str:
        if self.name:
            return self.name
        if self.verification_key is not None:
            return self.verification_key.describe()
        assert self.keyless is not None
        return f"keyless {self.keyless.describe()}"


def _is_pem_text(value: object) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("-----BEGIN")


def _source(value: PemSource, what: str) -> str:
    if isinstance(value, bytes) or _is_pem_text(value):
        return what
    return f"{what} {os.fspath(value)}"


def _read_pem(value: PemSource, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if _is_pem_text(value):
        return str(value).encode()
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise AuthorityError(f"cannot read {what} {os.fspath(value)}: {exc.strerror or exc}") from exc


def _certificates(value: PemSource | None, what: str) -> tuple[x509.Certificate, ...]:
    if value is None:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(_read_pem(value, what)))
    except ValueError as exc:
        raise TrustRootError(f"{_source(value, what)} is not a list of PEM certificates") from exc
