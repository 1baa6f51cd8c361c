"""notation's trust-store layout: `x509/{ca,signingAuthority,tsa}/NAME/*` holding PEM or DER certificates.

A trust store named by a policy must exist and hold at least one certificate; every file in it must
be a certificate, and each certificate must be one a verifier can anchor to (a CA, or a self-signed
signing certificate; for a TSA store, a self-issued CA root), as notation requires. Symbolic links
and folders inside a store are refused rather than followed. Read once, then kept.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gates.notation.errors import TrustStoreError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

STORE_TYPES = ("ca", "signingAuthority", "tsa")
NAME = re.compile(r"[A-Za-z0-9_.-]+")
MAX_CERTIFICATE_FILE = 1024 * 1024


class TrustStore:
    """The trust stores under one folder (`.../truststore`, the one holding `x509/`)."""

    def __init__(self, root: str | Path) -> None:
        path = Path(root).expanduser()
        if not (path / "x509").is_dir() and (path / "truststore" / "x509").is_dir():
            path = path / "truststore"  # notation's configuration folder given instead
        self.root = path
        self._loaded: dict[tuple[str, str], tuple[Certificate, ...]] = {}
        self._lock = threading.Lock()

    def check_root(self) -> None:
        if not (self.root / "x509").is_dir():
            raise TrustStoreError(f"trust store folder {self.root} has no x509/ folder (notation's layout is"
                                  " x509/{ca,signingAuthority,tsa}/NAME/*.pem)")

    def certificates(self, kind: str, name: str) -> tuple[Certificate, ...]:
        """The certificates of store `kind:name`; raises `TrustStoreError` saying what is wrong."""
        with self._lock:
            if (kind, name) not in self._loaded:
                self._loaded[kind, name] = self._load(kind, name)
            return self._loaded[kind, name]

    def _load(self, kind: str, name: str) -> tuple[Certificate, ...]:
        from gates.targets.files import NotRegularFile, read_regular

        if kind not in STORE_TYPES or not NAME.fullmatch(name):
            raise TrustStoreError(f"unsupported trust store {kind}:{name}")
        folder = self.root / "x509" / kind / name
        if folder.is_symlink() or not folder.is_dir():
            raise TrustStoreError(f"the trust store {name!r} of type {kind!r} does not exist ({folder})")
        found: list[Certificate] = []
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink() or entry.is_dir():
                raise TrustStoreError(f"trust store {kind}:{name}: {entry.name} is a link or a folder; only"
                                      " certificate files are read")
            try:
                data = read_regular(entry, MAX_CERTIFICATE_FILE + 1)
            except (OSError, NotRegularFile) as exc:
                raise TrustStoreError(f"trust store {kind}:{name}: cannot read {entry.name}: {exc}") from None
            found.extend(self._judged(kind, name, entry.name, _parse(data, f"{kind}:{name}/{entry.name}")))
        if not found:
            raise TrustStoreError(f"the trust store {kind}:{name} holds no certificates ({folder})")
        return tuple(found)

    @staticmethod
    def _judged(kind: str, name: str, file: str, certs: list[Certificate]) -> list[Certificate]:
        from cryptography import x509

        for cert in certs:
            try:
                constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
                is_ca = constraints.ca
            except x509.ExtensionNotFound:
                is_ca = False
            self_issued = cert.issuer == cert.subject
            where = f"trust store {kind}:{name}: {file}: {cert.subject.rfc4514_string()!r}"
            if kind == "tsa" and not (is_ca and self_issued):
                raise TrustStoreError(f"{where} is not a self-issued CA root, as a TSA trust store needs")
            if kind != "tsa" and not (is_ca or self_issued):
                raise TrustStoreError(f"{where} is neither a CA certificate nor a self-signed signing certificate")
        return certs


def _parse(data: bytes, what: str) -> list[Certificate]:
    from cryptography import x509

    if len(data) > MAX_CERTIFICATE_FILE:
        raise TrustStoreError(f"trust store file {what} is larger than {MAX_CERTIFICATE_FILE} bytes")
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        certs = list(x509.load_pem_x509_certificates(data)) if b"-----BEGIN" in data \
            else [x509.load_der_x509_certificate(data)]
        for cert in certs:  # fields cryptography parses lazily, read once here
            cert.subject.rfc4514_string()
            cert.issuer.rfc4514_string()
            list(cert.extensions)
            cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion, x509.DuplicateExtension):
        raise TrustStoreError(f"trust store file {what} is not a PEM or DER X.509 certificate") from None
    return certs
