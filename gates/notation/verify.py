"""The specification's verification of one signature under one trust policy statement.

In notation's order: integrity (the envelope parses and follows its rules, the signature covers the
exact protected header and payload, the chain is a code-signing chain, the payload names the image's
descriptor), authenticity (the chain leads to a certificate of the statement's trust stores, the
signing certificate's subject has a trusted identity), authentic timestamp (the chain was valid when
the signature was made: now, at a verified RFC 3161 timestamp, or at the signing authority's time),
expiry, and revocation, which cannot be checked offline: a certificate naming OCSP or CRL endpoints
has an unknown status, and the statement's action for `revocation` decides whether that fails.

Each failed check is enforced (the signature is rejected), logged (reported, not blocking) or skipped,
as the statement says; integrity is always enforced, and an enforced failure of integrity or
authenticity ends the verification as in notation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gates.notation import reasons
from gates.notation.errors import EnvelopeError

if TYPE_CHECKING:
    from gates.notation.envelope import Envelope
    from gates.notation.trustpolicy import Statement
    from gates.notation.truststore import TrustStore


@dataclass(frozen=True)
class Subject:
    """The descriptor of the image (manifest or index) a signature must name."""

    media_type: str
    digest: str
    size: int

    def describe(self) -> str:
        return f"{self.digest} ({self.media_type}, {self.size} bytes)"


@dataclass(frozen=True)
class Check:
    """One of the specification's checks on one signature."""

    name: str
    """integrity, authenticity, authenticTimestamp, expiry or revocation."""
    action: str
    """What its failure does: enforce, log or skip."""
    problem: str | None = None
    """Why it failed; None when it passed."""
    reason: str = reasons.INVALID
    """The rejection reason a failure stands for."""

    @property
    def failed(self) -> bool:
        return self.problem is not None and self.action != "skip"

    @property
    def blocks(self) -> bool:
        return self.failed and self.action == "enforce"


@dataclass(frozen=True)
class SignatureResult:
    """The checks made on one signature and what they decided."""

    label: str
    """Which signature, e.g. `notation signature sha256:3829708badae (JWS)`."""
    checks: tuple[Check, ...]
    summary: str = ""
    """What the envelope says (format, algorithm, scheme, signer, signing time) when it parsed."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What was not or could not be checked (revocation), said even when the signature is accepted."""

    @property
    def verified(self) -> bool:
        return not any(check.blocks for check in self.checks)

    @property
    def failure(self) -> Check | None:
        return next((check for check in self.checks if check.blocks), None)

    @property
    def logged(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.failed and not check.blocks)


def verify_envelope(
    label: str, data: bytes, media_type: str, subject: Subject, statement: Statement, store: TrustStore,
    now: dt.datetime | None = None,
) -> SignatureResult:
    """Run every check of `statement` on the envelope `data`; `TrustStoreError` if a store cannot be read."""
    from gates.notation.chain import validate_code_signing_chain
    from gates.notation.envelope import parse_envelope, unsupported_critical
    from gates.notation.signature import verify_signature

    when = now or dt.datetime.now(dt.timezone.utc)
    actions = statement.actions
    try:
        envelope = parse_envelope(data, media_type)
        verify_signature(envelope)
        refused = unsupported_critical(envelope)
        if refused:
            raise EnvelopeError(f"the signature verifies, but {refused}")
        validate_code_signing_chain(envelope.chain)
    except EnvelopeError as exc:
        return SignatureResult(label, (Check("integrity", "enforce", str(exc)),))
    summary = _summary(envelope)
    checks: list[Check] = []
    if not _same_target(envelope, subject):
        checks.append(Check("integrity", "enforce", f"the payload signs {envelope.target.describe()}, expected the"
                                                    f" image's {subject.describe()}", reasons.PAYLOAD_MISMATCH))
        return SignatureResult(label, tuple(checks), summary)
    checks.append(Check("integrity", "enforce"))
    for check in _authenticity(envelope, statement, store):
        checks.append(check)
        if check.blocks:
            return SignatureResult(label, tuple(checks), summary)
    checks.append(authentic_timestamp(envelope, statement, store, when))
    expired = envelope.expiry is not None and when > envelope.expiry
    checks.append(Check("expiry", actions["expiry"],
                        f"digital signature has expired on {_stamp(envelope.expiry)}" if expired and envelope.expiry
                        else None))
    revocation, notes = _revocation(envelope, actions["revocation"])
    checks.append(revocation)
    return SignatureResult(label, tuple(checks), summary, notes)


def _same_target(envelope: Envelope, subject: Subject) -> bool:
    target = envelope.target
    return (target.digest, target.size, target.media_type) == (subject.digest, subject.size, subject.media_type)


def _authenticity(envelope: Envelope, statement: Statement, store: TrustStore) -> list[Check]:
    from gates.notation.chain import anchored, subject
    from gates.notation.envelope import SCHEME_X509
    from gates.notation.trustpolicy import name_attributes

    action = statement.actions["authenticity"]
    if action == "skip":
        return [Check("authenticity", action)]
    kind = "ca" if envelope.signing_scheme == SCHEME_X509 else "signingAuthority"
    names = statement.stores(kind)
    if not names:
        return [Check("authenticity", action, f"statement {statement.name!r} names no {kind} trust store, which a"
                                              f" {envelope.signing_scheme} signature needs")]
    trusted = [cert for name in names for cert in store.certificates(kind, name)]
    anchor = anchored(envelope.chain, trusted)
    listed = ", ".join(f"{kind}:{name}" for name in names)
    if anchor is None:
        return [Check("authenticity", action, "the signature's certificate chain does not contain any trusted"
                                              f" certificate (trust stores {listed}; chain root"
                                              f" {subject(envelope.chain[-1])!r})")]
    found = subject(envelope.leaf)
    if statement.identities is not None:
        attributes = name_attributes(envelope.leaf.subject)
        if not any(identity.matches(attributes) for identity in statement.identities):
            return [Check("authenticity", action, f"signing certificate subject {found!r} does not match the"
                                                  f" trusted identities [{statement.describe_identities()}]",
                          reasons.IDENTITY_MISMATCH)]
    return [Check("authenticity", action)]


def authentic_timestamp(envelope: Envelope, statement: Statement, store: TrustStore, now: dt.datetime) -> Check:
    """Whether the chain was valid when the signature was made, as far as it can be known."""
    from gates.notation.chain import invalid_at, subject
    from gates.notation.envelope import SCHEME_X509
    from gates.notation.timestamp import TimestampError, verify_timestamp

    action = statement.actions["authenticTimestamp"]
    if action == "skip":
        return Check("authenticTimestamp", action)
    if envelope.signing_scheme != SCHEME_X509:
        when = envelope.authentic_signing_time
        assert when is not None  # the envelope parser requires it under this scheme
        problem = invalid_at(envelope.chain, when)
        return Check("authenticTimestamp", action, f"at the authentic signing time: {problem}" if problem else None)
    tsa_stores = statement.stores("tsa")
    use_timestamp = bool(tsa_stores)
    if use_timestamp and statement.verify_timestamp == "afterCertExpiry":
        use_timestamp = any(now > cert.not_valid_after_utc for cert in envelope.chain)
    if not use_timestamp:
        problem = invalid_at(envelope.chain, now)
        return Check("authenticTimestamp", action, problem)
    if envelope.timestamp_token is None:
        return Check("authenticTimestamp", action, "no timestamp countersignature was found in the signature"
                                                   " envelope (the statement names a tsa trust store)")
    roots = [cert for name in tsa_stores for cert in store.certificates("tsa", name)]
    try:
        stamp = verify_timestamp(envelope.timestamp_token, envelope.signature, roots)
    except TimestampError as exc:
        return Check("authenticTimestamp", action, str(exc))
    for cert in envelope.chain:
        if stamp.earliest < cert.not_valid_before_utc:
            return Check("authenticTimestamp", action,
                         f"the timestamp ({_stamp(stamp.time)}) can be before certificate {subject(cert)!r} is valid,"
                         f" from {_stamp(cert.not_valid_before_utc)}")
        if stamp.latest > cert.not_valid_after_utc:
            return Check("authenticTimestamp", action,
                         f"the timestamp ({_stamp(stamp.time)}) can be after certificate {subject(cert)!r} expired,"
                         f" at {_stamp(cert.not_valid_after_utc)}")
    return Check("authenticTimestamp", action)


def _revocation(envelope: Envelope, action: str) -> tuple[Check, tuple[str, ...]]:
    from gates.notation.chain import revocation_endpoints, subject

    if action == "skip":
        return Check("revocation", action), ("revocation: skipped by the trust policy",)
    unknown: list[str] = []
    for cert in envelope.chain:
        if cert.issuer == cert.subject:
            continue  # a root's revocation is its trust store's business
        endpoints = revocation_endpoints(cert)
        if endpoints:
            unknown.append(f"{subject(cert)!r} ({', '.join(endpoints[:2])})")
    if not unknown:
        return Check("revocation", action), ("revocation: not checked (gates verifies offline); no certificate"
                                             " of the chain names OCSP or CRL endpoints",)
    problem = ("revocation status unknown: gates verifies offline and cannot ask the endpoints of "
               + "; ".join(unknown))
    return Check("revocation", action, problem, reasons.REVOCATION_UNCHECKED), (f"revocation: {problem}",)


def _summary(envelope: Envelope) -> str:
    from gates.notation.chain import subject

    kind = "JWS" if envelope.media_type.endswith("jose+json") else "COSE"
    signed = envelope.authentic_signing_time or envelope.signing_time
    when = f", signed {_stamp(signed)}" if signed else ""
    attributes_signed = {**{str(k): v for k, v in envelope.extended.items()}, **envelope.target.annotations}
    attributes = ", ".join(f"{k}={v}" for k, v in sorted(attributes_signed.items()))
    shown = f"; signed attributes {attributes[:200]}" if attributes else ""
    return f"{kind} {envelope.algorithm} {envelope.signing_scheme} by {subject(envelope.leaf)!r}{when}{shown}"


def _stamp(when: dt.datetime | None) -> str:
    if when is None:
        return "-"
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def failed_names(results: Sequence[SignatureResult]) -> list[str]:
    """`check: problem` of every enforced failure, one per signature (for messages)."""
    return [f"{r.failure.name}: {r.failure.problem}" for r in results if r.failure is not None]
