"""Evidence that a DSSE signature existed at a time: a Rekor entry (SET or inclusion proof) or an RFC 3161 token.

Rekor v1 bundles carry a SET (Rekor's signed promise) and usually an inclusion proof with a signed
checkpoint; Rekor v2 bundles carry only the proof; GitHub's own Sigstore instance logs nothing and
timestamps the signature with a TSA instead. Each is checked against the trusted root, and a logged
entry must describe exactly this payload, signature and signer, or an entry for someone else's
signature could be attached to a forged one (CVE-2022-36056). The Merkle proof and the checkpoint's
signed note are sigstore's code; the entry bodies and the TSA lookup are ours, because sigstore
refuses intoto/0.0.2 entries and roots without a transparency log.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gates.cosign import reasons
from gates.cosign.dsse import base64_field, pae
from gates.cosign.errors import Rejected
from gates.cosign.keys import spki_der
from gates.cosign.rekor import RekorEntry, verify_set
from gates.cosign.trustroot import TrustRoot

MAX_TIMESTAMPS = 32
"""More RFC 3161 tokens than this in one bundle is an attempt to make verification slow (sigstore's limit)."""


@dataclass(frozen=True)
class LoggedEntry:
    """One `tlogEntries[]` item of a bundle, as far as it is needed here."""

    raw: dict[str, Any]
    kind: str
    """`kind/version`, e.g. `dsse/0.0.1`."""
    body: str
    integrated_time: int | None
    promise: RekorEntry | None
    """The entry as the SET covers it, when the bundle has an inclusion promise."""
    has_proof: bool


def parse_entries(material: dict[str, Any], media_type: object = None) -> tuple[LoggedEntry, ...]:
    """The bundle's log entries; malformed ones raise `Rejected(signature-invalid)`.

    From bundle v0.2 on, the format requires an inclusion proof in every entry (a SET alone is v0.1's).
    """
    items = material.get("tlogEntries") or []
    if not isinstance(items, list):
        raise Rejected(reasons.INVALID, "bundle tlogEntries is not a list")
    entries = []
    for item in items:
        try:
            kind_version = item.get("kindVersion", {})
            body = item["canonicalizedBody"]
            if not isinstance(body, str):
                raise TypeError("canonicalizedBody is not text")
            integrated = int(item["integratedTime"]) if item.get("integratedTime") not in (None, "", "0", 0) else None
            promise = None
            if item.get("inclusionPromise"):
                promise = RekorEntry(
                    signed_entry_timestamp=base64.b64decode(item["inclusionPromise"]["signedEntryTimestamp"],
                                                            validate=True),
                    body=body,
                    integrated_time=int(item["integratedTime"]),
                    log_index=int(item["logIndex"]),
                    log_id=base64.b64decode(item["logId"]["keyId"], validate=True),
                )
            entry = LoggedEntry(item, f"{kind_version.get('kind')}/{kind_version.get('version')}", body,
                                integrated, promise, bool(item.get("inclusionProof")))
            if not entry.has_proof and not _is_v01(media_type):
                raise Rejected(reasons.INVALID, f"bundle {str(media_type)[:80]} must carry an inclusion proof in"
                               " its log entry (only v0.1 bundles may rely on a SET alone)")
            entries.append(entry)
        except Rejected:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise Rejected(reasons.INVALID, f"bundle log entry is malformed ({exc.__class__.__name__})") from exc
    return tuple(entries)


def verify_logged(
    entry: LoggedEntry, root: TrustRoot, trusted_root_path: str | os.PathLike[str] | None
) -> dt.datetime | None:
    """Verify the SET and/or inclusion proof; returns the integrated time the log vouches for, if any."""
    if entry.promise is None and not entry.has_proof:
        raise Rejected(reasons.TLOG_MISSING, "bundle log entry has neither an inclusion promise (SET) nor a proof")
    at: dt.datetime | None = None
    if entry.promise is not None:
        verify_set(entry.promise, root)
        at = entry.promise.integrated_at
    if entry.has_proof:
        _verify_inclusion_proof(entry.raw, trusted_root_path)
    return at


def _verify_inclusion_proof(item: dict[str, Any], trusted_root_path: str | os.PathLike[str] | None) -> None:
    """The Merkle inclusion proof and the checkpoint's signature, with sigstore's implementation."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TransparencyLogEntry
    from sigstore_models.rekor.v1 import TransparencyLogEntry as EntryModel

    from gates.cosign.trustroot import embedded_production_root_bytes

    try:
        from sigstore._internal.trust import KeyringPurpose
        from sigstore.models import TrustedRoot

        if trusted_root_path is None:
            from sigstore_models.trustroot import v1 as trustroot_v1

            root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(embedded_production_root_bytes()))
        else:
            root = TrustedRoot.from_file(os.fspath(trusted_root_path))
        entry = TransparencyLogEntry(EntryModel.from_dict(item))
        entry._verify(root.rekor_keyring(KeyringPurpose.VERIFY))
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        text = " ".join(str(exc).split())[:160] or exc.__class__.__name__
        raise Rejected(reasons.INVALID, f"log inclusion proof does not verify: {text}") from exc


def check_dsse_body(entry: LoggedEntry, payload_type: str, payload: bytes, signature: bytes,
                    signer: x509.Certificate | bytes) -> None:
    """The logged body must record this DSSE payload, signature and signer (certificate or key SPKI DER).

    `dsse/0.0.1` and `intoto/0.0.2` (Rekor v1) record the payload hash; `hashedrekord/0.0.2` (Rekor v2)
    records the hash of the PAE.
    """
    where = f"log entry ({entry.kind})"
    try:
        body = json.loads(base64.b64decode(entry.body, validate=True))
        spec = body["spec"]
        if entry.kind == "dsse/0.0.1":
            recorded = spec["payloadHash"]
            logged = [(base64_field(s["signature"]), base64_field(s["verifier"])) for s in spec["signatures"]]
            expected_hash = hashlib.sha256(payload).hexdigest()
        elif entry.kind == "intoto/0.0.2":
            content = spec["content"]
            recorded = content["payloadHash"]
            if content["envelope"].get("payloadType") != payload_type:
                raise Rejected(reasons.INVALID, f"{where} records another payload type than the envelope's")
            logged = [(base64_field(base64_field(s["sig"]).decode()), base64_field(s["publicKey"]))
                      for s in content["envelope"]["signatures"]]
            expected_hash = hashlib.sha256(payload).hexdigest()
        elif entry.kind == "hashedrekord/0.0.2":
            data = spec["hashedRekordV002"]["data"]
            algorithm = "sha256" if data.get("algorithm") == "SHA2_256" else str(data.get("algorithm"))
            recorded = {"algorithm": algorithm, "value": base64_field(data["digest"]).hex()}
            sig = spec["hashedRekordV002"]["signature"]
            verifier = sig["verifier"]
            raw = verifier.get("x509Certificate", verifier.get("publicKey", {})).get("rawBytes")
            logged = [(base64_field(sig["content"]), base64_field(raw))]
            expected_hash = hashlib.sha256(pae(payload_type, payload)).hexdigest()
        else:
            raise Rejected(reasons.INVALID, f"{where} is not a kind that records a DSSE envelope")
    except Rejected:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error, RecursionError) as exc:
        raise Rejected(reasons.INVALID, f"{where} body is malformed ({exc.__class__.__name__})") from exc
    if str(recorded.get("algorithm", "")).lower() != "sha256" or recorded.get("value") != expected_hash:
        raise Rejected(reasons.INVALID, f"{where} records another payload hash than the envelope's")
    if len(logged) != 1 or logged[0][0] != signature:
        raise Rejected(reasons.INVALID, f"{where} records another signature than the envelope's")
    if not _same_signer(logged[0][1], signer):
        raise Rejected(reasons.INVALID, f"{where} records another key or certificate than the signer")


def verify_timestamps(material: dict[str, Any], signature: bytes, root: TrustRoot) -> list[dt.datetime]:
    """The times of every RFC 3161 token over `signature` that one of the root's TSAs signed."""
    data = material.get("timestampVerificationData") or {}
    tokens = data.get("rfc3161Timestamps") or [] if isinstance(data, dict) else []
    if not isinstance(tokens, list):
        raise Rejected(reasons.INVALID, "bundle rfc3161Timestamps is not a list")
    if len(tokens) > MAX_TIMESTAMPS:
        raise Rejected(reasons.INVALID, f"bundle carries {len(tokens)} timestamps, more than {MAX_TIMESTAMPS}")
    if not tokens:
        return []
    if not root.timestamp_authorities:
        raise Rejected(reasons.INVALID, f"bundle is timestamped, but trusted root {root.source} names no"
                       " timestamp authority")
    from rfc3161_client import VerificationError as TsaVerificationError
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    times = []
    for token in tokens:
        try:
            response = decode_timestamp_response(base64_field(token["signedTimestamp"]))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise Rejected(reasons.INVALID, f"bundle RFC 3161 timestamp is malformed ({exc.__class__.__name__})") \
                from exc
        when = response.tst_info.gen_time
        when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
        for tsa in root.timestamp_authorities:
            certs = tsa.certificates
            if len(certs) < 2 or not tsa.validity.contains(when):
                continue
            builder = VerifierBuilder().tsa_certificate(certs[0]).add_root_certificate(certs[-1])
            for middle in certs[1:-1]:
                builder = builder.add_intermediate_certificate(middle)
            try:
                builder.build().verify_message(response, signature)
            except TsaVerificationError:
                continue
            times.append(when)
            break
        else:
            raise Rejected(reasons.INVALID, f"RFC 3161 timestamp of {when:%Y-%m-%dT%H:%M:%SZ} does not verify with"
                           f" any timestamp authority of {root.source} (or is not over this signature)")
    return times


def _is_v01(media_type: object) -> bool:
    return media_type in ("application/vnd.dev.sigstore.bundle+json;version=0.1",
                          "application/vnd.dev.sigstore.bundle.v0.1+json")


def _same_signer(logged: bytes, signer: x509.Certificate | bytes) -> bool:
    """Compare DER: the log stores PEM (or DER for Rekor v2), whose spelling may differ."""
    try:
        if isinstance(signer, x509.Certificate):
            cert = x509.load_pem_x509_certificate(logged) if logged.lstrip().startswith(b"-----") \
                else x509.load_der_x509_certificate(logged)
            return cert.public_bytes(serialization.Encoding.DER) == signer.public_bytes(serialization.Encoding.DER)
        key = serialization.load_pem_public_key(logged) if logged.lstrip().startswith(b"-----") \
            else serialization.load_der_public_key(logged)
    except ValueError:
        return False
    return spki_der(key) == signer  # type: ignore[arg-type]
