"""The Sigstore trusted root (`trusted_root.json`), read with `json` and `cryptography`.

The legacy keyless path needs what the `sigstore` library keeps private: each log's id and validity
window, and which certificates form one CA. The default is the production root embedded in the
installed `sigstore` package, so verification never touches the network.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from gates.cosign.errors import AuthorityError, TrustRootError
from gates.cosign.keys import PublicKey, from_public_key

PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
ACCEPTED_MEDIA_TYPES = ("application/vnd.dev.sigstore.trustedroot+json;version=0.1",)
"""Those sigstore-python 4.5 loads too, so the legacy and bundle paths accept the same roots."""


@dataclass(frozen=True)
class Validity:
    """A `validFor` window; `end` None means open-ended. Both ends inclusive."""

    start: dt.datetime
    end: dt.datetime | None

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when and (self.end is None or when <= self.end)


@dataclass(frozen=True)
class LogKey:
    """A transparency (Rekor) or CT log key."""

    log_id: bytes
    """The `logId.keyId` bytes: sha256 of the DER SPKI for the ECDSA logs."""
    key: PublicKey
    validity: Validity
    base_url: str


@dataclass(frozen=True)
class CertificateAuthority:
    """One CA: its chain ordered leaf-most to root, and when it may issue."""

    certificates: tuple[x509.Certificate, ...]
    validity: Validity
    uri: str


@dataclass(frozen=True)
class TrustRoot:
    """What the legacy verifier needs from a trusted root."""

    source: str
    """The file it came from, or `sigstore production (embedded)`."""
    certificate_authorities: tuple[CertificateAuthority, ...]
    tlogs: tuple[LogKey, ...]
    ctlogs: tuple[LogKey, ...]
    timestamp_authorities: tuple[CertificateAuthority, ...] = ()
    """RFC 3161 TSAs (`timestampAuthorities`): chains ordered signing certificate first, root last."""

    def tlog(self, log_id: bytes) -> LogKey | None:
        return next((log for log in self.tlogs if log.log_id == log_id), None)

    def ctlog(self, log_id: bytes) -> LogKey | None:
        return next((log for log in self.ctlogs if log.log_id == log_id), None)


def load_trust_root(path: str | os.PathLike[str] | None = None) -> TrustRoot:
    """The trusted root at `path`, or sigstore's embedded production root; cached per file version."""
    if path is None:
        return _load(None, None)
    return _load(os.fspath(path), file_version(path))


def file_version(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(mtime_ns, size) of a file, so caches see a rewritten trusted root; None if it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def embedded_production_root_bytes() -> bytes:
    """The production `trusted_root.json` shipped inside the `sigstore` package (no network)."""
    from importlib import resources
    from urllib.parse import quote

    try:
        store = resources.files("sigstore._store") / quote(PRODUCTION_TUF_URL, safe="")
        return (store / "trusted_root.json").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise TrustRootError("the sigstore package's embedded production trusted root is missing") from exc


@lru_cache(maxsize=16)
def _load(path: str | None, version: tuple[int, int] | None) -> TrustRoot:
    if path is None:
        return parse_trust_root(embedded_production_root_bytes(), "sigstore production (embedded)")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TrustRootError(f"cannot read trusted root {path}: {exc.strerror or exc}") from exc
    return parse_trust_root(data, path)


def parse_trust_root(data: bytes, source: str) -> TrustRoot:
    """Parse a trusted root document; raises `TrustRootError` naming `source` and the bad field."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustRootError(f"trusted root {source} is not JSON") from exc
    if not isinstance(doc, dict):
        raise TrustRootError(f"trusted root {source} is not a JSON object")
    media_type = doc.get("mediaType")
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise TrustRootError(f"trusted root {source} has unsupported mediaType {media_type!r}")
    try:
        cas = tuple(_ca(item) for item in _list(doc, "certificateAuthorities"))
        tlogs = tuple(log for item in _list(doc, "tlogs") if (log := _log(item)) is not None)
        ctlogs = tuple(log for item in _list(doc, "ctlogs") if (log := _log(item)) is not None)
        tsas = tuple(_ca(item) for item in _list(doc, "timestampAuthorities"))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise TrustRootError(f"trusted root {source} is malformed: {exc}") from exc
    return TrustRoot(source=source, certificate_authorities=cas, tlogs=tlogs, ctlogs=ctlogs,
                     timestamp_authorities=tsas)


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise TypeError(f"{key} is not a list")
    return value


def _validity(value: Any, where: str) -> Validity:
    if not isinstance(value, dict) or not isinstance(value.get("start"), str):
        raise ValueError(f"{where}.validFor.start is missing")
    end = value.get("end")
    return Validity(_time(value["start"]), _time(end) if isinstance(end, str) else None)


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")


def _time(text: str) -> dt.datetime:
    """RFC 3339 with any number of fraction digits (protobuf JSON writes up to nine)."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"invalid timestamp {text[:40]!r}")
    base, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in ("Z", "z") else zone
    return dt.datetime.fromisoformat(f"{base.replace('t', 'T').replace(' ', 'T')}.{micros}{zone}")


def _ca(item: Any) -> CertificateAuthority:
    raw = [base64.b64decode(c["rawBytes"], validate=True) for c in item["certChain"]["certificates"]]
    if not raw:
        raise ValueError("a certificate authority has no certificates")
    certs = tuple(x509.load_der_x509_certificate(der) for der in raw)
    return CertificateAuthority(
        certs, _validity(item.get("validFor"), "certificateAuthorities[]"), str(item.get("uri", ""))
    )


def _log(item: Any) -> LogKey | None:
    """A log key, or None for a key type no cosign-compatible log signs with (skipped, as sigstore does)."""
    public_key = item["publicKey"]
    der = base64.b64decode(public_key["rawBytes"], validate=True)
    try:
        key = from_public_key(serialization.load_der_public_key(der), "trusted root log key").key
    except (AuthorityError, UnsupportedAlgorithm):
        return None
    log_id_text = item.get("logId", {}).get("keyId")
    log_id = base64.b64decode(log_id_text, validate=True) if log_id_text else hashlib.sha256(der).digest()
    return LogKey(log_id, key, _validity(public_key.get("validFor"), "log publicKey"), str(item.get("baseUrl", "")))
