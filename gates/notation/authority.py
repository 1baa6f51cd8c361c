"""A notation authority: a trust store and the trust policy (a file, or one native statement) over it.

`judge` decides an image from all its Notary signatures: the statement whose scope covers the
repository applies (none: the image is not covered); `skip` accepts without looking; otherwise any
one signature that passes every enforced check is enough, as in `notation verify`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from gates.notation import reasons
from gates.notation.trustpolicy import Statement, TrustPolicy
from gates.notation.truststore import TrustStore
from gates.notation.verify import SignatureResult, Subject, verify_envelope


@dataclass(frozen=True)
class EnvelopeBlob:
    """One signature as discovery found it: its label, envelope media type and bytes (or why none)."""

    label: str
    media_type: str
    data: bytes
    problem: str | None = None
    """Set when the signature manifest itself is unusable (then `data` is empty)."""


@dataclass(frozen=True)
class Rejection:
    signature: str
    rule: str
    message: str


@dataclass(frozen=True)
class Judgement:
    """What a notation authority made of an image's signatures."""

    authority: str
    statement: str = ""
    accepted: SignatureResult | None = None
    skipped: bool = False
    """The statement's level is `skip`: accepted unverified, as the trust policy says."""
    rejections: tuple[Rejection, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.skipped or self.accepted is not None


@dataclass(frozen=True)
class NotationAuthority:
    """Whose Notary signatures count, read from notation's files or a gates policy."""

    name: str
    store: TrustStore
    policy: TrustPolicy

    def judge(self, repository: str, subject: Subject, signatures: Sequence[EnvelopeBlob],
              now: dt.datetime | None = None) -> Judgement:
        """The judgement on `repository`@`subject`; raises `TrustStoreError` if a named store is unusable."""
        statement = self.policy.statement_for(repository)
        if statement is None:
            scopes = ", ".join(s for one in self.policy.statements for s in one.scopes)
            return Judgement(self.name, rejections=(Rejection(
                "", reasons.POLICY_UNMATCHED,
                f"no statement of {self.policy.source} covers {repository} (registry scopes: {scopes})"),))
        if statement.level == "skip":
            return Judgement(self.name, statement.name, skipped=True)
        return self._verify(statement, repository, subject, signatures, now)

    def _verify(self, statement: Statement, repository: str, subject: Subject,
                signatures: Sequence[EnvelopeBlob], now: dt.datetime | None) -> Judgement:
        rejections: list[Rejection] = []
        for blob in signatures:
            if blob.problem is not None:
                rejections.append(Rejection(blob.label, reasons.INVALID,
                                            f"integrity validation failed: {blob.problem}"))
                continue
            result = verify_envelope(blob.label, blob.data, blob.media_type, subject, statement, self.store, now)
            if result.verified:
                return Judgement(self.name, statement.name, accepted=result)
            failure = result.failure
            assert failure is not None  # not verified: some enforced check failed
            rejections.append(Rejection(blob.label, failure.reason,
                                        f"{failure.name} validation failed: {failure.problem}"))
        if not signatures:
            rejections.append(Rejection("", reasons.MISSING,
                                        f"no Notary Project signature found for {repository}@{subject.digest}"))
        return Judgement(self.name, statement.name, rejections=tuple(rejections))
