"""What every report format is read into: the vulnerabilities a scanner listed, in one shape.

Every string here came from a file a pull request can write, so `text` makes it safe to show before
anything else sees it: control characters escaped, whitespace collapsed, length bounded.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gates.errors import InputError
from gates.model import Severity

MAX_TEXT = 200
"""Longest text kept from a report field (a package, a version, an advisory id, a fix hint)."""

SEVERITY_WORDS: Mapping[str, Severity] = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.INFO,
    "info": Severity.INFO,
    "none": Severity.INFO,
}
"""Scanners' severity words; anything else (`UNKNOWN`, empty, absent) is unrated."""


def text(value: object, limit: int = MAX_TEXT) -> str:
    """A report value as one safe line: control and format characters escaped, at most `limit` characters."""
    raw = value if isinstance(value, str) else str(value)
    out: list[str] = []
    for char in " ".join(raw.split()):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def token(value: object) -> str:
    """A report value as one word, for waiver resources (`CVE-2024-1 openssl`): whitespace becomes `_`."""
    return text(value).replace(" ", "_")


def severity_of(word: object) -> Severity | None:
    """A scanner's severity word as a gates severity; None when the report does not rate it."""
    return SEVERITY_WORDS.get(word.strip().lower()) if isinstance(word, str) else None


def date_of(value: object) -> dt.date | None:
    """An ISO date or timestamp from a report, or None when absent or unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Analysis:
    """A statement the report itself carries about one vulnerability (CycloneDX `analysis`)."""

    state: str
    justification: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Vulnerability:
    """One advisory a scanner matched to one installed package."""

    advisory: str
    package: str
    installed: str
    position: tuple[int, int] | None
    """Line and column of the entry in the report."""
    severity: Severity | None
    """The report's rating; None when unrated."""
    rating: str = ""
    """The rating as the report wrote it, for the message."""
    fixed: str | None = None
    """The fixed version(s), or the report's fix hint; None when no fix is published."""
    fix_date: dt.date | None = None
    """When the fix was published, where the report says (grype's `fix.available`)."""
    purl: str | None = None
    aliases: tuple[str, ...] = ()
    image: str = ""
    """What was scanned, as the report names it (an image reference, an archive, a folder)."""
    analysis: Analysis | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScannedReport:
    """One report file as read: its format, what it scanned and what it found."""

    format: str
    scanner: str
    image: str
    vulnerabilities: tuple[Vulnerability, ...]
    image_digests: frozenset[str] = frozenset()
    """Digests (`sha256:...`) the report records for the image, to match OpenVEX image products."""
    details: tuple[str, ...] = field(default_factory=tuple)
    """What the report holds that this gate does not judge, said rather than skipped."""


class Fields:
    """Typed access to a report object: a wrong type is an `InputError` naming the field and line."""

    def __init__(self, obj: Mapping[str, Any], where: str, line: int | None) -> None:
        self.obj = obj
        self.where = where
        self.line = line

    def _fail(self, key: str, expected: str) -> InputError:
        at = f"line {self.line}: " if self.line else ""
        return InputError(f"{at}{self.where}.{key} must be {expected}")

    def string(self, key: str, required: bool = False) -> str | None:
        value = self.obj.get(key)
        if value is None or value == "":
            if required:
                raise self._fail(key, "a non-empty string")
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def required(self, key: str) -> str:
        value = self.string(key, required=True)
        if value is None:  # pragma: no cover - string() raised already
            raise self._fail(key, "a non-empty string")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._fail(key, "an object")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "an array")
        return value

    def objects(self, key: str) -> list[Mapping[str, Any]]:
        found = self.items(key)
        for item in found:
            if not isinstance(item, dict):
                raise self._fail(key, "an array of objects")
        return found
