"""Sigstore bundles (cosign v3's signatures, attached as OCI referrers), verified offline.

Keyless bundles go through `sigstore`'s `Verifier` (time, chain, SCT, inclusion proof + checkpoint,
SET, signature, log-entry consistency) with our identity policy plugged in. A valid bundle proves a
*statement*, not an image: the in-toto subject must be this digest and the predicate a signature, or
an SBOM attestation would pass as one. A message-signature bundle (what `cosign sign-blob` writes)
signs bytes, not an image: bytes that happen to be the manifest make it look like a signature of the
image, so, as in `cosign verify`, only DSSE statements count for an image. `sigstore` cannot verify
key-based bundles, so those are checked here with the same SET and entry-body code as legacy
signatures.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography import x509

from gates import jsonstrict
from gates.cosign import reasons
from gates.cosign.authority import Authority
from gates.cosign.dsse import IN_TOTO_PAYLOAD_TYPE, base64_field, pae
from gates.cosign.errors import Rejected, TrustRootError
from gates.cosign.identity import KeylessIdentity, check_identity, read_identity
from gates.cosign.keyless_dsse import sigstore_can_verify, verify_keyless_dsse
from gates.cosign.keys import spki_der, verify_prehashed_sha256, verify_signature
from gates.cosign.rekor import RekorEntry, check_hashedrekord, verify_set
from gates.cosign.transparency import check_dsse_body, parse_entries, verify_logged, verify_timestamps
from gates.cosign.trustroot import file_version
from gates.errors import first_line

BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1"
"""What `cosign sign` (v3) puts in its statement; attestations carry other predicate types."""
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")


@dataclass(frozen=True)
class SigstoreBundle:
    """The bytes of one bundle (a referrer's single layer), with a label for messages."""

    data: bytes
    label: str

    @classmethod
    def of(cls, data: bytes, number: int) -> SigstoreBundle:
        return cls(data, f"bundle {number} (sha256:{hashlib.sha256(data).hexdigest()[:12]})")


def verify_bundle(
    data: bytes,
    authority: Authority,
    image_digest: str,
    *,
    predicate_types: frozenset[str] | None = frozenset({SIGN_PREDICATE_TYPE}),
    blob: bool = False,
) -> dict[str, Any] | None:
    """Return the in-toto statement if `authority` vouches, through this bundle, for `image_digest`.

    The bundle must hold a DSSE in-toto statement whose subject is the digest (and whose predicate
    type is in `predicate_types`, unless None). With `blob`, the digest is a blob's (as for `cosign
    verify-blob`) and a message-signature bundle over it is accepted too (returning None); never for an
    image.
    """
    algorithm, _, hex_digest = image_digest.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64:
        raise Rejected(reasons.INVALID, f"bundles can only be checked against sha256 digests, not {image_digest}")
    doc = _load_json(data)
    if not blob and "dsseEnvelope" not in doc:
        what = "no DSSE envelope"
        if "messageSignature" in doc:
            what = "a message signature (what `cosign sign-blob` writes)"
        raise Rejected(
            reasons.PAYLOAD_MISMATCH,
            f"bundle holds {what}, not an in-toto statement: it signs bytes, not an image, and is no image signature",
        )
    dsse = _authenticate(data, doc, authority, hex_digest)
    return None if dsse is None else check_statement(*dsse, hex_digest, predicate_types)


def authenticate_dsse_bundle(data: bytes, authority: Authority) -> tuple[str, bytes]:
    """(payloadType, payload) of a DSSE bundle `authority` vouches for; the statement is the caller's to judge.

    For attestations of artifacts other than images (subjects by sha512, several subjects).
    """
    doc = _load_json(data)
    if "dsseEnvelope" not in doc:
        raise Rejected(reasons.PAYLOAD_MISMATCH, "bundle holds no DSSE envelope")
    dsse = _authenticate(data, doc, authority, None)
    assert dsse is not None
    return dsse


def _authenticate(data: bytes, doc: dict[str, Any], authority: Authority, hex_digest: str | None
                  ) -> tuple[str, bytes] | None:
    """Verify the bundle's signature and evidence; (payloadType, payload) for DSSE, None for a message signature."""
    material = doc.get("verificationMaterial")
    if isinstance(material, dict) and "publicKey" in material:
        if authority.verification_key is None:
            raise Rejected(reasons.INVALID, "bundle is signed with a key, but the authority is keyless")
        return _verify_key_bundle(doc, authority, hex_digest)
    if authority.keyless is None:
        raise Rejected(reasons.INVALID, "bundle is keyless (certificate), but the authority is a key")
    if "dsseEnvelope" in doc and authority.ca_roots is None and not sigstore_can_verify(doc, authority):
        return verify_keyless_dsse(doc, authority)
    return _verify_keyless_bundle(data, doc, authority, hex_digest)


def check_statement(
    payload_type: str, payload: bytes, hex_digest: str, predicate_types: frozenset[str] | None
) -> dict[str, Any]:
    """The DSSE payload must be an in-toto statement about this digest with an accepted predicate; returns it."""
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise Rejected(reasons.PAYLOAD_MISMATCH, f"DSSE payload type is {payload_type!r}, not an in-toto statement")
    try:
        statement = jsonstrict.loads(payload)
    except jsonstrict.DuplicateKeyError as exc:
        raise Rejected(reasons.PAYLOAD_MISMATCH, f"in-toto statement is ambiguous: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Rejected(reasons.PAYLOAD_MISMATCH, "in-toto statement is not JSON") from exc
    if not isinstance(statement, dict) or statement.get("_type") not in STATEMENT_TYPES:
        raise Rejected(reasons.PAYLOAD_MISMATCH, "DSSE payload is not an in-toto statement")
    predicate = statement.get("predicateType")
    if predicate_types is not None and predicate not in predicate_types:
        raise Rejected(
            reasons.PAYLOAD_MISMATCH,
            f"statement predicate type is {predicate!r}, expected {' or '.join(sorted(predicate_types))}",
        )
    subjects = statement.get("subject")
    found: list[str] = []
    if isinstance(subjects, list):
        for subject in subjects:
            digests = subject.get("digest") if isinstance(subject, dict) else None
            value = digests.get("sha256") if isinstance(digests, dict) else None
            if isinstance(value, str):
                if value == hex_digest:  # exactly, as cosign compares it: no case folding
                    return statement
                found.append(f"sha256:{value[:16]}…")
    raise Rejected(
        reasons.PAYLOAD_MISMATCH,
        f"statement subjects are {', '.join(found) or 'none'}, expected sha256:{hex_digest}",
    )


# -- keyless, through sigstore ------------------------------------------------------------------------


class _IdentityPolicy:
    """A `sigstore` VerificationPolicy that applies our identity checks (regexps, GitHub claims)."""

    def __init__(self, identity: KeylessIdentity) -> None:
        self._identity = identity

    def verify(self, cert: x509.Certificate) -> None:
        check_identity(self._identity, read_identity(cert))


_MISSING_TLOG_HINTS = (
    "expected exactly one log entry",
    "must contain inclusion proof",
    "inclusion promise or signed timestamp",
    "must contain an inclusion promise",
    "expected checkpoint",
)


def _verify_keyless_bundle(
    data: bytes,
    doc: dict[str, Any],
    authority: Authority,
    hex_digest: str | None,
) -> tuple[str, bytes] | None:
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    if authority.ca_roots is not None:
        raise Rejected(reasons.INVALID, "bundles under a private CA (--ca-roots) are not supported;"
                       " use a trusted root (trusted-root)")
    assert authority.keyless is not None
    root_path = os.fspath(authority.trusted_root) if authority.trusted_root is not None else None
    verifier = _verifier(root_path, file_version(root_path) if root_path is not None else None)
    policy = _IdentityPolicy(authority.keyless)
    try:
        bundle = Bundle.from_json(data)
        if "dsseEnvelope" in doc:
            payload_type, payload = verifier.verify_dsse(bundle, policy)
        else:
            assert hex_digest is not None
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(hex_digest))
            verifier.verify_artifact(hashed, bundle, policy)
            return None
    except SigstoreError as exc:
        message = first_line(exc)
        rule = reasons.TLOG_MISSING if any(h in message for h in _MISSING_TLOG_HINTS) else reasons.INVALID
        raise Rejected(rule, f"Sigstore bundle does not verify: {message}") from exc
    except (ValueError, TypeError, KeyError) as exc:  # malformed content sigstore did not wrap
        raise Rejected(reasons.INVALID, f"Sigstore bundle is malformed: {first_line(exc)}") from exc
    return payload_type, payload


@lru_cache(maxsize=8)
def _verifier(trusted_root: str | None, version: tuple[int, int] | None) -> Any:
    """A `sigstore` Verifier on the given root, or on the production root embedded in the package."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    from gates.cosign.trustroot import embedded_production_root_bytes

    try:
        if trusted_root is None:
            from sigstore_models.trustroot import v1 as trustroot_v1

            root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(embedded_production_root_bytes()))
        else:
            root = TrustedRoot.from_file(trusted_root)
        return Verifier(trusted_root=root)
    except (SigstoreError, ValueError, OSError) as exc:
        where = trusted_root or "sigstore production (embedded)"
        raise TrustRootError(f"trusted root {where} cannot be used: {first_line(exc)}") from exc


# -- key-based, here -----------------------------------------------------------------------------------


def _verify_key_bundle(
    doc: dict[str, Any], authority: Authority, hex_digest: str | None
) -> tuple[str, bytes] | None:
    key = authority.verification_key
    assert key is not None
    if not str(doc.get("mediaType", "")).startswith(BUNDLE_MEDIA_TYPE_PREFIX):
        raise Rejected(reasons.INVALID, f"unsupported bundle media type {doc.get('mediaType')!r}")
    envelope, message = doc.get("dsseEnvelope"), doc.get("messageSignature")
    if (envelope is None) == (message is None):
        raise Rejected(reasons.INVALID, "bundle must hold exactly one of dsseEnvelope or messageSignature")
    try:
        if envelope is not None:
            payload_type = _s(envelope["payloadType"])
            payload = base64_field(envelope["payload"])
            signatures = envelope["signatures"]
            if not isinstance(signatures, list) or len(signatures) != 1:
                raise Rejected(reasons.INVALID, "DSSE envelope must carry exactly one signature")
            signature = base64_field(signatures[0]["sig"])
            if not verify_signature(key.key, signature, pae(payload_type, payload)):
                raise Rejected(reasons.INVALID, f"DSSE signature does not verify with {key.describe()}")
        else:
            if not isinstance(message, dict) or hex_digest is None:
                raise TypeError("messageSignature is not an object (or no digest to check it against)")
            signature = base64_field(message["signature"])
            declared = message.get("messageDigest")
            if isinstance(declared, dict) and (
                declared.get("algorithm") != "SHA2_256" or base64_field(declared.get("digest")).hex() != hex_digest
            ):
                raise Rejected(reasons.PAYLOAD_MISMATCH, f"bundle signs another digest than sha256:{hex_digest}")
            if not verify_prehashed_sha256(key.key, signature, bytes.fromhex(hex_digest)):
                raise Rejected(
                    reasons.INVALID, f"signature over sha256:{hex_digest[:16]}… does not verify with {key.describe()}"
                )
        if not authority.ignore_tlog:
            if envelope is not None:
                _check_dsse_evidence(doc, authority, payload_type, payload, signature, spki_der(key.key))
            else:
                entry, _ = _bundle_tlog_entry(doc)
                verify_set(entry, authority.trust_root())
                assert hex_digest is not None
                check_hashedrekord(entry, data_sha256=hex_digest, signature=signature, signer=spki_der(key.key))
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:
        raise Rejected(reasons.INVALID, f"Sigstore bundle is malformed: {first_line(exc)}") from exc
    if envelope is not None:
        return payload_type, payload
    return None


def _check_dsse_evidence(doc: dict[str, Any], authority: Authority, payload_type: str, payload: bytes,
                         signature: bytes, spki: bytes) -> None:
    """A key-signed DSSE bundle needs a verified log entry (SET or inclusion proof); a trusted timestamp is
    no substitute, as in `cosign verify --key`: a key is valid at any time, so a time proves nothing of
    transparency. Every timestamp present must still verify."""
    material = doc["verificationMaterial"]
    root = authority.trust_root()
    entries = parse_entries(material, doc.get("mediaType"))
    if len(entries) > 1:
        raise Rejected(reasons.INVALID, f"bundle has {len(entries)} transparency log entries, expected one")
    for entry in entries:
        verify_logged(entry, root, authority.trusted_root)
        check_dsse_body(entry, payload_type, payload, signature, spki)
    timestamped = verify_timestamps(material, signature, root)  # every token present must verify
    if not entries:
        also = " (a trusted timestamp is no log entry)" if timestamped else ""
        raise Rejected(
            reasons.TLOG_MISSING,
            f"bundle has no transparency log entry{also}; transparency is required"
            " unless the policy authority sets ignore-tlog = true (--insecure-ignore-tlog)",
        )


def _bundle_tlog_entry(doc: dict[str, Any]) -> tuple[RekorEntry, str]:
    entries = doc["verificationMaterial"].get("tlogEntries") or []
    if len(entries) != 1:
        raise Rejected(
            reasons.TLOG_MISSING,
            f"bundle has {len(entries)} transparency log entries, expected one; transparency is required"
            " unless the policy authority sets ignore-tlog = true (--insecure-ignore-tlog)",
        )
    item = entries[0]
    promise = item.get("inclusionPromise")
    if not promise:
        raise Rejected(
            reasons.TLOG_MISSING,
            "bundle's log entry has no inclusion promise (SET); Rekor v2 entries need inclusion-proof"
            " verification, not supported for key-based bundles yet",
        )
    entry = RekorEntry(
        signed_entry_timestamp=base64_field(promise["signedEntryTimestamp"]),
        body=_s(item["canonicalizedBody"]),
        integrated_time=int(item["integratedTime"]),
        log_index=int(item["logIndex"]),
        log_id=base64_field(item["logId"]["keyId"]),
    )
    kind_version = item.get("kindVersion", {})
    return entry, f"{kind_version.get('kind')}/{kind_version.get('version')}"


def _load_json(data: bytes) -> dict[str, Any]:
    try:
        doc = jsonstrict.loads(data)
    except jsonstrict.DuplicateKeyError as exc:
        raise Rejected(reasons.INVALID, f"Sigstore bundle is ambiguous: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Rejected(reasons.INVALID, f"Sigstore bundle is not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict):
        raise Rejected(reasons.INVALID, "Sigstore bundle is not a JSON object")
    return doc


def _s(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value

