"""Waivers: accepted findings, each with a reason and (usually) an expiry date.

Config waivers match by rule, path and resource globs; inline waivers are annotations on the resource
itself (`gates.dev/waive.<rule>: "<reason>; expires=YYYY-MM-DD"`). A waived finding is kept in every
output, marked with its reason; an expired waiver stops waiving and says so on the finding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gates.errors import InputError
from gates.model import Finding, Result, Waiver

INLINE_PREFIX = "gates.dev/waive."


@dataclass(frozen=True)
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
    return dataclasses.replace(result, findings=findings)


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
        findings.append(dataclasses.replace(finding, notes=(*finding.notes, *notes)) if notes else finding)
    return dataclasses.replace(result, findings=tuple(findings))


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
        return dataclasses.replace(
            finding, waiver=Waiver(reason=waiver.reason, source=waiver.source, expires=waiver.expires),
        )
    return dataclasses.replace(finding, notes=tuple(notes)) if notes != list(finding.notes) else finding


def parse_inline(
    annotations: Mapping[str, str], positions: Mapping[str, str], resource: str
) -> list[WaiverRule]:
    """Waivers declared as annotations on a resource; `positions` maps key -> `file:line` text.

    An annotation without a reason, or with an unreadable expiry, is an `InputError`: a waiver
    nobody can justify must not silently waive.
    """
    found: list[WaiverRule] = []
    for key, value in annotations.items():
        if not key.startswith(INLINE_PREFIX):
            continue
        rule = key[len(INLINE_PREFIX):]
        where = positions.get(key, resource)
        reason, expires = _split_value(value, where)
        if not rule:
            raise InputError(f"{where}: waiver annotation {key!r} names no rule")
        found.append(WaiverRule(rule=rule, reason=reason, source=f"{where} annotation", resource=resource,
                                expires=expires))
    return found


def _split_value(value: str, where: str) -> tuple[str, dt.date | None]:
    reason_parts: list[str] = []
    expires: dt.date | None = None
    for part in value.split(";"):
        text = part.strip()
        if text.startswith("expires="):
            try:
                expires = dt.date.fromisoformat(text.removeprefix("expires=").strip())
            except ValueError:
                raise InputError(f"{where}: waiver expiry {text!r} is not a YYYY-MM-DD date") from None
        elif text:
            reason_parts.append(text)
    if not reason_parts:
        raise InputError(f"{where}: waiver has no reason (write '<reason>; expires=YYYY-MM-DD')")
    return "; ".join(reason_parts), expires

