"""DSSE envelopes and in-toto statements (v0.1 and v1), parsed with limits and without trusting them.

Parsing says what a document *claims*; only `gates.attest.verify` says whether anyone vouches for it.
Every parse error is one line (`Rejected`), never an exception the gate did not expect.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gates import jsonstrict
from gates.attest import reasons
from gates.cosign.dsse import IN_TOTO_PAYLOAD_TYPE
from gates.cosign.errors import Rejected

MAX_ENVELOPE = 4 * 1024 * 1024
"""An envelope or bundle larger than this is refused, not parsed (SBOMs in attestations are rarely >1 MB)."""
MAX_SIGNATURES = 16
"""DSSE envelopes with more signatures than this are refused: each costs a verification."""
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: the payload and who claims to have signed its PAE."""

    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]
    """(keyid, signature) pairs, in order."""


@dataclass(frozen=True)
class Subject:
    name: str
    digest: Mapping[str, str]


@dataclass(frozen=True)
class Statement:
    """An in-toto statement: what it is about (subjects) and what it says (the predicate)."""

    statement_type: str
    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: Any
    """The predicate as parsed JSON (absent: None)."""
    size: int
    """Bytes of the payload the statement was parsed from (for SBOM size limits)."""

    def names_digest(self, digest: str) -> bool:
        """Whether a subject carries exactly this `algorithm:hex` digest (no case folding, as cosign)."""
        algorithm, _, value = digest.partition(":")
        return any(subject.digest.get(algorithm) == value for subject in self.subjects)

    def describe_subjects(self) -> str:
        shown = [f"{a[:20]}:{v[:16]}…" for s in self.subjects for a, v in sorted(s.digest.items())][:4]
        return ", ".join(shown) or "none"


def parse_envelope(data: bytes, limit: int = MAX_ENVELOPE) -> Envelope:
    """A DSSE envelope from JSON bytes; raises `Rejected(attestation-invalid)` naming what is wrong."""
    if len(data) > limit:
        raise Rejected(reasons.INVALID, f"DSSE envelope is {len(data)} bytes, more than the limit of {limit}")
    doc = load_json(data, "DSSE envelope")
    try:
        payload_type = doc["payloadType"]
        payload = base64.b64decode(doc["payload"], validate=True)
        raw_signatures = doc["signatures"]
        if not isinstance(payload_type, str) or not isinstance(raw_signatures, list):
            raise TypeError("payloadType or signatures has the wrong type")
        if not raw_signatures:
            raise Rejected(reasons.INVALID, "DSSE envelope carries no signature")
        if len(raw_signatures) > MAX_SIGNATURES:
            raise Rejected(reasons.INVALID, f"DSSE envelope carries {len(raw_signatures)} signatures, more than"
                           f" {MAX_SIGNATURES}")
        signatures = tuple(
            (str(item.get("keyid") or ""), base64.b64decode(item["sig"], validate=True)) for item in raw_signatures
        )
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:
        if isinstance(exc, KeyError):
            raise Rejected(reasons.INVALID, f"DSSE envelope has no {exc.args[0]}") from exc
        raise Rejected(reasons.INVALID, f"DSSE envelope is malformed ({exc.__class__.__name__})") from exc
    return Envelope(payload_type, payload, signatures)


def parse_statement(payload_type: str, payload: bytes) -> Statement:
    """An in-toto statement from a DSSE payload; raises `Rejected(attestation-invalid)` if it is none."""
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise Rejected(reasons.INVALID, f"DSSE payload type is {payload_type[:80]!r}, not an in-toto statement")
    return statement_from_doc(load_json(payload, "in-toto statement"), len(payload))


def statement_from_doc(doc: Mapping[str, Any], size: int) -> Statement:
    """A statement from its parsed JSON (as a verifier returned it); `size` is the payload's length."""
    if doc.get("_type") not in STATEMENT_TYPES:
        raise Rejected(reasons.INVALID, f"payload _type is {str(doc.get('_type'))[:80]!r}, not an in-toto statement")
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise Rejected(reasons.INVALID, "in-toto statement has no predicateType")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise Rejected(reasons.INVALID, "in-toto statement has no subject")
    parsed = []
    for item in subjects:
        digests = item.get("digest") if isinstance(item, dict) else None
        if not isinstance(digests, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in digests.items()):
            raise Rejected(reasons.INVALID, "an in-toto subject has no digest map of strings")
        name = item.get("name", "")
        parsed.append(Subject(name if isinstance(name, str) else "", dict(digests)))
    return Statement(str(doc["_type"]), predicate_type, tuple(parsed), doc.get("predicate"), size)


def peek_predicate_type(payload_type: str, payload: bytes) -> str | None:
    """The predicate type a payload claims, unverified: only to pick which attestations to verify."""
    try:
        return parse_statement(payload_type, payload).predicate_type
    except Rejected:
        return None


def load_json(data: bytes, what: str) -> dict[str, Any]:
    """A JSON object, refusing duplicate keys; raises `Rejected(attestation-invalid)`."""
    try:
        doc = jsonstrict.loads(data)
    except jsonstrict.DuplicateKeyError as exc:
        raise Rejected(reasons.INVALID, f"{what} is ambiguous: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Rejected(reasons.INVALID, f"{what} is not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict):
        raise Rejected(reasons.INVALID, f"{what} is not a JSON object")
    return doc
