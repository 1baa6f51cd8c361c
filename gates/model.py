"""The findings model every gate produces and every reporter reads.

Gates return `Result`s holding raw `Finding`s; the engine applies waivers and the fail-on threshold,
so a result's outcome is decided in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import Enum

from gates.record import field, record


class Severity(str, Enum):
    """How bad a finding is; ordered, so `--fail-on` can compare."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def _missing_(cls, value: object) -> Severity | None:
        """`HIGH`, `High`: a severity a person writes is read in any case (`--fail-on HIGH`)."""
        if isinstance(value, str):
            return next((member for member in cls if member.value == value.lower()), None)
        return None

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return _RANK[self] >= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return _RANK[self] < _RANK[other]


_SEVERITY_ORDER = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
_RANK = {severity: rank for rank, severity in enumerate(_SEVERITY_ORDER)}
"""Severity -> its place in `_SEVERITY_ORDER`: a dict look-up (hashed as its str), where `tuple.index`
compared member by member and `rank` cost a Python call; every finding is compared several times."""


class Outcome(str, Enum):
    """A result's verdict. `error` means the gate could not decide: it fails the run like `failed`."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@record
class Location:
    """Where a finding points: a file (or image reference) and, where known, a 1-based line and column."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


@record
class Waiver:
    """Why a finding is accepted: the reason, where the waiver was declared, and until when."""

    reason: str
    source: str
    expires: dt.date | None = None


@record
class BaselineMark:
    """How a finding stands against the baseline of the run (`--baseline`), set only when one is in use."""

    state: str
    """`new` (not in the baseline: it blocks as any finding) or `unchanged` (in it since `since`)."""
    fingerprint: str
    """Its identity in baselines (`gates.baseline.fingerprint`): rule, resource, place within it, message."""
    since: dt.date | None = None
    """When the baseline first held it (`unchanged` only)."""
    expired: bool = False
    """In the baseline for longer than `max-age-days`: it blocks again."""

    @property
    def accepted(self) -> bool:
        """Whether the baseline keeps this finding from blocking."""
        return self.state == UNCHANGED and not self.expired


NEW, UNCHANGED = "new", "unchanged"


@record
class BaselineEntry:
    """One finding a baseline accepted: its fingerprint, since when, and (for people reading a diff, and
    for reports of what is gone) which gate, rule and resource it was."""

    fingerprint: str
    since: dt.date
    gate: str
    rule: str
    resource: str


@record
class Finding:
    """One violation of one rule by one resource."""

    rule: str
    severity: Severity
    message: str
    location: Location
    resource: str | None = None
    """Kind/namespace/name for a Kubernetes resource, or an image reference."""
    container: str | None = None
    waiver: Waiver | None = None
    """Set by the engine when a live waiver accepts this finding."""
    notes: tuple[str, ...] = ()
    """Extra one-line remarks, e.g. that a waiver matched but has expired."""
    baseline: BaselineMark | None = None
    """Set by the engine when the run has a baseline: whether the finding was there already."""

    @property
    def baselined(self) -> bool:
        """In the baseline (and not too long): shown and counted, never blocking."""
        return self.baseline is not None and self.baseline.accepted


def blocks(finding: Finding, fail_on: Severity) -> bool:
    """Whether a finding fails its result: not waived, not baselined, and at least as severe as `fail_on`."""
    mark = finding.baseline  # `baselined` written out: this runs several times for every finding of a report
    return finding.waiver is None and (mark is None or not mark.accepted) and _RANK[finding.severity] >= _RANK[fail_on]


@record
class Result:
    """A gate's verdict on one target (a manifest resource, a file, an image)."""

    gate: str
    target: str
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    """One line saying why the gate could not decide; set exactly when outcome is `error`."""
    location: Location | None = None
    """Where the target itself lives, so errors and passes can be placed in reports."""
    details: tuple[str, ...] = ()
    """One-line facts about how the verdict was reached (e.g. which digest and key verified)."""
    subject: str | None = None
    """The content digest (`sha256:<hex>`) an image gate judged: what a verification summary names."""

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waiver is None)


@record
class ShardStamp:
    """Which part of a sharded run a report holds, and of which run: `gates merge` folds only a full set."""

    index: int
    total: int
    config: str
    """A digest of the effective configuration: shards of different policies must never be merged."""


@record
class Report:
    """Every result of a run; its outcome is the worst of theirs (error > failed > passed)."""

    results: tuple[Result, ...]
    gates: tuple[str, ...] = ()
    """Gates that ran, in order, so a gate with no targets still shows up in reports."""
    fail_on: Severity = Severity.LOW
    """The lowest severity that fails a result; findings below it are reported as advisory."""
    internal_errors: tuple[str, ...] = ()
    """Bugs caught while running a gate: the run still reports, then exits 3."""
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    duration: float | None = None
    """Seconds the gates took to run (wall clock), where the engine measured it."""
    shard: ShardStamp | None = None
    """Set on one shard's report (`--shard K/N`): the part it judged, for `gates merge`."""
    baseline_absent: tuple[BaselineEntry, ...] | None = None
    """With a baseline: its entries of the gates that ran that no finding matched (fixed, or gone)."""

    @property
    def outcome(self) -> Outcome:
        return overall_outcome(r.outcome for r in self.results)

    def counts(self) -> dict[str, int]:
        tally = {o.value: 0 for o in Outcome}
        for result in self.results:
            tally[result.outcome.value] += 1
        return tally


def overall_outcome(outcomes: Iterable[Outcome]) -> Outcome:
    """Fold result outcomes into a run outcome: any error wins, then any failure; else passed."""
    seen = set(outcomes)
    if Outcome.ERROR in seen:
        return Outcome.ERROR
    if Outcome.FAILED in seen:
        return Outcome.FAILED
    return Outcome.PASSED


def error_result(gate: str, target: str, reason: str, location: Location | None = None) -> Result:
    """A result for a target the gate could not decide; `reason` must be one line."""
    return Result(gate=gate, target=target, outcome=Outcome.ERROR, error=one_line(reason), location=location)


def decided_result(
    gate: str, target: str, findings: Sequence[Finding], location: Location | None = None
) -> Result:
    """A provisional result: `failed` when there are findings; the engine re-decides after waivers."""
    outcome = Outcome.FAILED if findings else Outcome.PASSED
    return Result(gate=gate, target=target, outcome=outcome, findings=tuple(findings), location=location)


def one_line(text: str) -> str:
    """Collapse whitespace so a message always fits one log line."""
    return " ".join(text.split())
