"""Verify the attestations of an image digest against a requirement: a predicate type, authorities, conditions.

A requirement is met when one attestation of its type verifies with one of its authorities (DSSE
signature over the PAE, transparency or a trusted timestamp, certificate chain and identity, exactly
as for signatures), names the digest as its subject, and satisfies every condition. Attestations of
other types are only counted (for the "found" line); one that does not parse is a reason, never
skipped quietly. Nothing here touches the network.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gates.attest import reasons
from gates.attest.conditions import MaxAge, StatementCondition, failures
from gates.attest.layers import LegacyAttestation
from gates.attest.predicates import matches, short_name, shown_types
from gates.attest.statement import (
    MAX_ENVELOPE,
    Statement,
    load_json,
    parse_envelope,
    parse_statement,
    peek_predicate_type,
)
from gates.cosign import reasons as signature_reasons
from gates.cosign.authority import Authority
from gates.cosign.errors import AuthorityError, Rejected
from gates.cosign.identity import read_identity


@dataclass(frozen=True)
class AttestationBundle:
    """A Sigstore bundle holding a DSSE attestation (cosign v3 referrer, GitHub artifact attestation)."""

    data: bytes
    label: str


Candidate = AttestationBundle | LegacyAttestation


@dataclass(frozen=True)
class Requirement:
    """One `[[signature.policies.attestations]]` entry, built."""

    predicate_type: str
    authorities: tuple[Authority, ...]
    conditions: tuple[StatementCondition, ...] = ()
    max_age: MaxAge | None = None
    name: str = ""

    def describe(self) -> str:
        return self.name or short_name(self.predicate_type)


@dataclass(frozen=True)
class AttestationCheck:
    """One attestation of the required type tried against one authority (or unreadable)."""

    attestation: str
    authority: str
    rule: str | None
    """None: accepted."""
    message: str


@dataclass(frozen=True)
class AttestationVerdict:
    requirement: Requirement
    checks: tuple[AttestationCheck, ...]
    found_types: tuple[str, ...]
    """The predicate types of every attestation seen (claimed, for the message)."""

    @property
    def accepted_by(self) -> AttestationCheck | None:
        return next((check for check in self.checks if check.rule is None), None)

    @property
    def reasons(self) -> tuple[AttestationCheck, ...]:
        """Why the requirement is not met (empty if it is): every rejection, or one `attestation-missing`."""
        if self.accepted_by is not None:
            return ()
        if self.checks:
            return self.checks
        found = shown_types(self.found_types)
        return (AttestationCheck("", "", reasons.MISSING,
                                 f"no {self.requirement.describe()} attestation ({self.requirement.predicate_type})"
                                 f" is attached; attestation types found: {found}"),)


def verify_attestations(
    image_digest: str, candidates: Sequence[Candidate], requirement: Requirement, now: dt.datetime | None = None,
    *, also_found: Sequence[str] = (), subject_problem: Callable[[Statement], str | None] | None = None,
) -> AttestationVerdict:
    """Try every candidate of the required type with every authority until one meets the requirement.

    `also_found`: predicate types of attestations the caller saw but did not fetch (for the message).
    `subject_problem`: why a verified statement's subject names do not fit the image (None: they do).
    """
    if not requirement.authorities:
        raise AuthorityError(f"attestation {requirement.describe()}: no authorities, nothing could ever verify")
    moment = now or dt.datetime.now(dt.timezone.utc)
    checks: list[AttestationCheck] = []
    found: list[str] = list(also_found)
    for candidate in candidates:
        claimed, problem = claimed_type(candidate)
        if problem is not None:
            annotated = candidate.annotated_type if isinstance(candidate, LegacyAttestation) else None
            if annotated is not None and not matches(requirement.predicate_type, annotated):
                found.append(annotated)  # unreadable, but by its annotation another requirement's concern
                continue
            checks.append(AttestationCheck(candidate.label, "", reasons.INVALID, problem))
            continue
        if claimed is not None:
            found.append(claimed)
        if not matches(requirement.predicate_type, claimed):
            continue
        for authority in requirement.authorities:
            check = _try(candidate, authority, image_digest, requirement, moment, subject_problem)
            checks.append(check)
            if check.rule is None:
                return AttestationVerdict(requirement, tuple(checks), tuple(found))
    return AttestationVerdict(requirement, tuple(checks), tuple(found))


def claimed_type(candidate: Candidate) -> tuple[str | None, str | None]:
    """(claimed predicate type, problem): unverified, only to choose what to verify and to list what exists."""
    try:
        if isinstance(candidate, LegacyAttestation):
            if candidate.problem is not None:
                return None, candidate.problem
            envelope = parse_envelope(candidate.envelope)
            return peek_predicate_type(envelope.payload_type, envelope.payload) or candidate.annotated_type, None
        if len(candidate.data) > MAX_ENVELOPE:
            return None, f"bundle is {len(candidate.data)} bytes, more than the limit of {MAX_ENVELOPE}"
        doc = load_json(candidate.data, "Sigstore bundle")
        envelope_doc = doc.get("dsseEnvelope")
        if not isinstance(envelope_doc, dict):
            return None, None  # a message signature: not an attestation, not counted
        payload = base64.b64decode(str(envelope_doc.get("payload", "")), validate=True)
        return peek_predicate_type(str(envelope_doc.get("payloadType", "")), payload), None
    except Rejected as exc:
        return None, exc.message
    except (binascii.Error, ValueError):
        return None, "bundle's DSSE payload is not base64"


def _try(candidate: Candidate, authority: Authority, digest: str, requirement: Requirement,
         now: dt.datetime, subject_problem: Callable[[Statement], str | None] | None = None) -> AttestationCheck:
    who = authority.describe()
    try:
        if isinstance(candidate, AttestationBundle):
            statement, signer, signed_at = _verify_bundle(candidate, authority, digest)
        else:
            from gates.attest.legacy import verify_legacy_attestation

            statement, signer, signed_at = verify_legacy_attestation(candidate, authority, digest, now)
    except Rejected as exc:
        return AttestationCheck(candidate.label, who, reasons.INVALID, _reworded(exc))
    if not matches(requirement.predicate_type, statement.predicate_type):
        return AttestationCheck(candidate.label, who, reasons.INVALID,
                                f"verified statement's predicate type is {statement.predicate_type[:100]!r},"
                                f" expected {requirement.predicate_type!r}")
    if subject_problem is not None and (wrong := subject_problem(statement)) is not None:
        return AttestationCheck(candidate.label, who, reasons.INVALID, wrong)
    problems = failures(requirement.conditions, statement, signer)
    if requirement.max_age is not None and (age := requirement.max_age.failure_at(signed_at, now)):
        problems.append(age)
    if problems:
        return AttestationCheck(candidate.label, who, reasons.CONDITION, "; ".join(problems))
    return AttestationCheck(candidate.label, who, None, f"verified ({short_name(statement.predicate_type)})")


def _reworded(exc: Rejected) -> str:
    if exc.rule == signature_reasons.TLOG_MISSING:
        return f"no verified transparency: {exc.message}"
    if exc.rule == signature_reasons.IDENTITY_MISMATCH:
        return f"signer identity: {exc.message}"
    return exc.message


def _verify_bundle(candidate: AttestationBundle, authority: Authority, digest: str
                   ) -> tuple[Statement, str | None, dt.datetime | None]:
    from gates.cosign.bundles import authenticate_dsse_bundle

    payload_type, payload = authenticate_dsse_bundle(candidate.data, authority)
    statement = parse_statement(payload_type, payload)
    if not statement.names_digest(digest):
        raise Rejected(reasons.INVALID, f"statement subjects are {statement.describe_subjects()}, expected {digest}")
    doc = load_json(candidate.data, "Sigstore bundle")
    material = doc.get("verificationMaterial") or {}
    signature = base64.b64decode(doc["dsseEnvelope"]["signatures"][0]["sig"], validate=True)
    signed_at = None if authority.ignore_tlog else _bundle_time(material, doc.get("mediaType"), signature, authority)
    return statement, _bundle_signer(material), signed_at


def _bundle_signer(material: dict[str, Any]) -> str | None:
    try:
        if "certificate" in material:
            raw = material["certificate"]["rawBytes"]
        elif "x509CertificateChain" in material:
            raw = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        else:
            return None
        sans = read_identity(x509.load_der_x509_certificate(base64.b64decode(raw))).sans
    except (KeyError, IndexError, TypeError, ValueError, Rejected):
        return None
    return sans[0] if sans else None


def _bundle_time(material: dict[str, Any], media_type: object, signature: bytes, authority: Authority
                 ) -> dt.datetime | None:
    """The earliest *verified* signing time: of the RFC 3161 tokens (each verified again here, as sigstore
    drops a token that does not verify rather than refusing it) and of the SETs."""
    from gates.cosign.rekor import verify_set
    from gates.cosign.transparency import parse_entries, verify_timestamps

    root = authority.trust_root()
    times = verify_timestamps(material, signature, root)
    for entry in parse_entries(material, media_type):
        if entry.promise is not None:
            verify_set(entry.promise, root)
            times.append(entry.promise.integrated_at)
    return min(times) if times else None


__all__ = ["AttestationBundle", "AttestationCheck", "AttestationVerdict", "Candidate", "Requirement",
           "parse_statement", "verify_attestations"]
