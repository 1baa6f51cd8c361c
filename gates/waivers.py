"""Waivers: accepted findings, each with a reason and (usually) an expiry date.

Config waivers match by rule, path and resource globs; inline waivers are annotations on the resource
itself (`gates.dev/waive.<rule>: "<reason>; expires=YYYY-MM-DD"`). A waived finding is kept in every
output, marked with its reason; an expired waiver stops waiving and says so on the finding.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Collection, Mapping, Sequence

from gates.errors import InputError
from gates.model import Finding, Result, Waiver
from gates.record import record, replace
from gates.suggest import did_you_mean

INLINE_PREFIX = "gates.dev/waive."


@record
class WaiverRule:
    """One declared waiver."""

    rule: str
    """Glob over rule IDs (`pss-host-path`, `pss-*`)."""
    reason: str
    source: str
    """Where it was declared: `gates.toml waivers[1]` or `deploy/x.yaml:12 annotation`."""
    path: str | None = None
    """Glob over the finding's file path."""
    resource: str | None = None
    """Glob over the resource (`Kind/namespace/name`, or an image reference)."""
    expires: dt.date | None = None

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.rule, self.rule):
            return False
        if self.path is not None and not _path_matches(finding.location.path, self.path):
            return False
        return self.resource is None or (
            finding.resource is not None and fnmatch.fnmatchcase(finding.resource, self.resource)
        )

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


def _path_matches(path: str, pattern: str) -> bool:
    """Globs over paths: `*` may cross folders (fnmatch), and `dir/` matches everything under it."""
    if pattern.endswith("/"):
        return path.startswith(pattern) or fnmatch.fnmatchcase(path, pattern + "*")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def apply_waivers(result: Result, waivers: Sequence[WaiverRule], today: dt.date) -> Result:
    """Mark the findings of `result` that a live waiver accepts; note the ones an expired waiver hit."""
    if not waivers or not result.findings:
        return result
    findings = tuple(_waive(f, waivers, today) for f in result.findings)
    return replace(result, findings=findings)


def note_ignored_waivers(result: Result, waivers: Sequence[WaiverRule]) -> Result:
    """With `inline-waivers = false`: say on each finding which annotation would have waived it, waive nothing.

    The tree under test (a pull request) must not waive its own findings, but the reviewer should see
    that it tried.
    """
    if not waivers or not result.findings:
        return result
    findings = []
    for finding in result.findings:
        notes = [f"inline waiver ignored (inline-waivers = false): {w.source}: {w.reason}"
                 + (f" (expires {w.expires})" if w.expires else "") for w in waivers if w.matches(finding)]
        findings.append(replace(finding, notes=(*finding.notes, *notes)) if notes else finding)
    return replace(result, findings=tuple(findings))


def _waive(finding: Finding, waivers: Sequence[WaiverRule], today: dt.date) -> Finding:
    if finding.waiver is not None:
        return finding
    notes = list(finding.notes)
    for waiver in waivers:
        if not waiver.matches(finding):
            continue
        if waiver.expired(today):
            notes.append(f"waiver from {waiver.source} expired on {waiver.expires}: {waiver.reason}")
            continue
        return replace(
            finding, waiver=Waiver(reason=waiver.reason, source=waiver.source, expires=waiver.expires),
        )
    return replace(finding, notes=tuple(notes)) if notes != list(finding.notes) else finding


def unknown_rule(glob: str, known: Collection[str]) -> str | None:
    """Why a waiver's rule glob can never waive anything (it matches no known rule), or None if it can.

    A misspelled waiver (`k8s-image-digst`) would otherwise be ignored silently while its finding
    keeps failing, or worse, be trusted to hold until someone notices.
    """
    if any(fnmatch.fnmatchcase(rule, glob) for rule in known):
        return None
    return f"{glob!r} matches no known rule" + did_you_mean(glob, known, " (see `gates list`)")


def rule_glob(text: str) -> str:
    """A waiver's rule glob as matched: rule IDs are lower case, so `PSS-Privileged` means `pss-privileged`."""
    return text.strip().lower()


@record
class InlineWaivers:
    """The waivers a resource's annotations declare, and one line per annotation that waives nothing."""

    waivers: tuple[WaiverRule, ...]
    problems: tuple[tuple[str, str], ...]
    """(annotation key, problem naming `file:line`, the annotation and what is wrong)."""


def read_inline(
    annotations: Mapping[str, str], positions: Mapping[str, str], resource: str,
    known_rules: Collection[str] | None = None,
) -> InlineWaivers:
    """Waivers declared as annotations on a resource; `positions` maps key -> `file:line` text.

    An annotation without a reason, with an unreadable expiry or (given `known_rules`) naming no known
    rule waives nothing and is a problem: a waiver nobody can justify or match must not silently waive,
    nor silently vanish. The other annotations still waive.
    """
    found: list[WaiverRule] = []
    problems: list[tuple[str, str]] = []
    for key, value in annotations.items():
        if not key.startswith(INLINE_PREFIX):
            continue
        rule = rule_glob(key[len(INLINE_PREFIX):])
        where = positions.get(key, resource)
        try:
            if not rule:
                raise InputError(f"{where}: waiver annotation {key!r} names no rule")
            reason, expires = _split_value(value, f"{where}: {key}", resource)
            unknown = unknown_rule(rule, known_rules) if known_rules is not None else None
            if unknown is not None:
                raise InputError(f"{where}: {key}: waiver {unknown}")
        except InputError as exc:
            problems.append((key, str(exc)))
            continue
        found.append(WaiverRule(rule=rule, reason=reason, source=f"{where} annotation", resource=resource,
                                expires=expires))
    return InlineWaivers(tuple(found), tuple(problems))


def parse_inline(
    annotations: Mapping[str, str], positions: Mapping[str, str], resource: str
) -> list[WaiverRule]:
    """`read_inline`, raising the first problem as an `InputError` (the resource becomes an error)."""
    read = read_inline(annotations, positions, resource)
    if read.problems:
        raise InputError(read.problems[0][1])
    return list(read.waivers)


# Patterns, compiled (and cached by `re`) when an inline waiver is first read, not at every start.
_CLAUSE_SEPARATORS = r"([;,])"
_EXPIRY_WORD = r"(?i)\bexpir(?:es|y|e|ation)\b"
_EXPIRY_CLAUSE = r"(?i)^expir(?:es|y|e|ation)\b\s*[:=]?\s*(?P<date>.*)$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATED_CLAUSE = r"(?i)(?P<key>[a-z][\w.-]*)\s*[:=]\s*\S*?\d{4}-\d{2}-\d{2}"
"""A `key=value` / `key: value` clause whose value holds an ISO date: `expires_at=`, `valid-until:`..."""
EXPECTED = "'<reason>; expires=YYYY-MM-DD'"


def _split_value(value: str, where: str, resource: str) -> tuple[str, dt.date | None]:
    """One grammar for `<reason>[; expires=YYYY-MM-DD]`.

    Clauses are separated by `;` or `,`. A clause that starts with an expiry word (`expires`, `Expires`,
    `expiry`, `expire`, `expiration`; then `=`, `:` or spaces) is the expiry and must hold an ISO date.
    An expiry word followed by `=` or `:` inside another clause is refused: an expiry read as part of
    the reason would never expire. So is any other `key=value` or `key: value` clause holding an ISO
    date (`expires_at=`, `valid-until:`, `exp=`): a date under a name gates does not read would make the
    waiver permanent. The other clauses, with their separators, are the reason.
    """
    reason = ""
    expires: dt.date | None = None
    pieces = re.split(_CLAUSE_SEPARATORS, value)  # clause, separator, clause, ...
    for index in range(0, len(pieces), 2):
        text = pieces[index].strip()
        match = re.match(_EXPIRY_CLAUSE, text)
        if match is not None:
            if expires is not None:
                raise InputError(f"{where}: waiver gives more than one expiry (expected {EXPECTED})")
            expires = _expiry_date(match.group("date").strip(), text, where)
            continue
        hidden = re.search(_EXPIRY_WORD, text)
        if hidden is not None and re.match(r"\s*[:=]", text[hidden.end():]):
            raise InputError(f"{where}: waiver expiry in {text[:80]!r} is not its own clause (expected {EXPECTED})")
        dated = re.search(_DATED_CLAUSE, text)
        if dated is not None:
            raise InputError(
                f"{where}: waiver of {resource} gives a date as {dated.group('key')[:40]!r}, which is not an"
                f" expiry gates reads, so it would never expire (expected {EXPECTED})")
        if text:
            reason = f"{reason}{pieces[index - 1]} {text}" if reason else text
    if not reason:
        raise InputError(f"{where}: waiver has no reason (expected {EXPECTED})")
    return reason, expires


def _expiry_date(text: str, clause: str, where: str) -> dt.date:
    if re.match(_ISO_DATE, text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise InputError(f"{where}: waiver expiry {clause[:80]!r} is not a YYYY-MM-DD date (expected {EXPECTED})")
