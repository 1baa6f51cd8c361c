"""Rekor Signed Entry Timestamps (SETs) and entry bodies, verified offline with `cryptography`.

Legacy cosign annotations carry a SET but no inclusion proof, which the `sigstore` library refuses;
the SET is Rekor's signed promise that the entry is logged at `integratedTime`. The entry body must
then describe exactly the signature, key or certificate, and payload hash being verified, or a SET for
someone else's entry could be attached to a forged signature (CVE-2022-36056).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gates.cosign import reasons
from gates.cosign.errors import Rejected
from gates.cosign.keys import spki_der, verify_signature
from gates.cosign.trustroot import LogKey, TrustRoot


@dataclass(frozen=True)
class RekorEntry:
    """A logged entry as a SET covers it (cosign's `dev.sigstore.cosign/bundle` annotation)."""

    signed_entry_timestamp: bytes
    body: str
    """The canonicalized entry body, base64 *text* exactly as logged (the SET covers this string)."""
    integrated_time: int
    log_index: int
    log_id: bytes

    @property
    def integrated_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.integrated_time, tz=dt.timezone.utc)


def parse_cosign_bundle_annotation(text: str) -> RekorEntry:
    """Parse `{"SignedEntryTimestamp", "Payload": {body, integratedTime, logIndex, logID}}`."""
    try:
        doc = json.loads(text)
        payload = doc["Payload"]
        entry = RekorEntry(
            signed_entry_timestamp=base64.b64decode(doc["SignedEntryTimestamp"], validate=True),
            body=_str(payload["body"]),
            integrated_time=_int(payload["integratedTime"]),
            log_index=_int(payload["logIndex"]),
            log_id=bytes.fromhex(_str(payload["logID"])),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error, RecursionError) as exc:
        raise Rejected(reasons.INVALID, f"malformed Rekor bundle annotation ({_why(exc)})") from exc
    return entry


def verify_set(entry: RekorEntry, root: TrustRoot) -> LogKey:
    """Verify the SET with the trusted root's key for `logID`; returns that log."""
    log = root.tlog(entry.log_id)
    if log is None:
        raise Rejected(
            reasons.TLOG_MISSING,
            f"Rekor entry is from log {entry.log_id.hex()[:16]}…, which is not in trusted root {root.source}",
        )
    canonical = json.dumps(
        {
            "body": entry.body,
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    if not verify_signature(log.key, entry.signed_entry_timestamp, canonical):
        raise Rejected(reasons.INVALID, f"Rekor SET for log index {entry.log_index} does not verify")
    if not log.validity.contains(entry.integrated_at):
        raise Rejected(
            reasons.INVALID,
            f"Rekor integrated time {entry.integrated_at:%Y-%m-%dT%H:%M:%SZ} is outside the validity of"
            f" log {entry.log_id.hex()[:16]}…",
        )
    return log


def check_hashedrekord(
    entry: RekorEntry,
    *,
    data_sha256: str,
    signature: bytes,
    signer: x509.Certificate | bytes,
) -> None:
    """The body must be `hashedrekord` 0.0.1 over this hash, signature and signer (cert or SPKI DER)."""
    try:
        body = json.loads(base64.b64decode(entry.body, validate=True))
        kind, version, spec = body["kind"], body["apiVersion"], body["spec"]
        hash_ = spec["data"]["hash"]
        logged_sig = base64.b64decode(spec["signature"]["content"], validate=True)
        logged_signer = base64.b64decode(spec["signature"]["publicKey"]["content"], validate=True)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, binascii.Error,
            RecursionError) as exc:
        raise Rejected(reasons.INVALID, f"Rekor entry body is malformed ({_why(exc)})") from exc
    where = f"Rekor entry {entry.log_index}"
    if (kind, version) != ("hashedrekord", "0.0.1"):
        raise Rejected(reasons.INVALID, f"{where} is {kind}/{version}, expected hashedrekord/0.0.1")
    if not isinstance(hash_, dict) or hash_.get("algorithm") != "sha256":
        raise Rejected(reasons.INVALID, f"{where} does not record a sha256 hash")
    if hash_.get("value") != data_sha256:
        raise Rejected(
            reasons.INVALID,
            f"{where} logs hash sha256:{str(hash_.get('value'))[:16]}…, the payload is sha256:{data_sha256[:16]}…",
        )
    if logged_sig != signature:
        raise Rejected(reasons.INVALID, f"{where} logs another signature than the one verified")
    if not _same_signer(logged_signer, signer):
        raise Rejected(reasons.INVALID, f"{where} logs another key or certificate than the signer")


def _same_signer(logged_pem: bytes, signer: x509.Certificate | bytes) -> bool:
    """Compare DER bytes: the log stores PEM, whose spelling may differ."""
    try:
        if isinstance(signer, x509.Certificate):
            return x509.load_pem_x509_certificate(logged_pem).public_bytes(
                serialization.Encoding.DER
            ) == signer.public_bytes(serialization.Encoding.DER)
        logged_key = serialization.load_pem_public_key(logged_pem)
    except ValueError:
        return False
    return spki_der(logged_key) == signer  # type: ignore[arg-type]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]}"
    return exc.__class__.__name__ if not str(exc) else str(exc).splitlines()[0][:80]
