"""Untrusted text made safe to show: what a scanned file, image or registry says never steers a reader.

Every string in a report may come from a pull request (file names, YAML keys and values, image
configs, registry answers). `visible` escapes what a terminal, a log viewer or an XML parser would act
on instead of showing: control characters (ESC, bare CR, NUL), invisible format characters (bidi
overrides, zero-width), line and paragraph separators, and the surrogates that stand for a file
name's bytes that are not UTF-8. `clean` applies it to every string of a report, so the reporters
start from text that is safe in any medium and only add the escaping of their own syntax.
`block_commands` keeps a CI runner from reading a line of a report as a workflow command.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from enum import Enum
from typing import TypeVar

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format (bidi, zero-width), surrogate, line and paragraph separator characters."""
_NONCHARACTERS = frozenset({"\ufffe", "\uffff"})
"""Not characters at all; XML 1.0 forbids them."""
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

T = TypeVar("T")


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, carried by the surrogateescape handler
        return f"\\x{code - 0xDC00:02x}"
    if char in _NAMED:
        return _NAMED[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def must_escape(char: str) -> bool:
    """Whether `visible` escapes this character."""
    return unicodedata.category(char) in _ESCAPED_CATEGORIES or char in _NONCHARACTERS


def visible(text: str) -> str:
    """`text` with every character that acts instead of showing written as an escape (`\\x1b`, `\\u202e`).

    A file name's undecodable byte is shown as the byte (`\\xff`). Printable text comes back unchanged
    (the same object), so the common case costs one C-level scan.
    """
    if text.isprintable():
        return text
    return "".join(_escape(c) if not c.isprintable() and must_escape(c) else c for c in text)


def visible_lines(text: str) -> str:
    """Like `visible`, but the line feeds of gates' own multi-line text (a traceback) are kept."""
    lines = text.split("\n")
    shown = [visible(line) for line in lines]
    return text if all(new is old for new, old in zip(shown, lines, strict=True)) else "\n".join(shown)


def for_terminal(text: str, lines: bool = False) -> str:
    """A message for stderr: one line escaped by `visible` (or `visible_lines` for gates' own multi-line
    text, a traceback), and no line of it a CI workflow command."""
    return block_commands(visible_lines(text) if lines else visible(text), "\\x3a", "\\x5b")


MULTILINE_FIELDS = frozenset({"internal_errors"})
"""Fields holding gates' own multi-line text (tracebacks): each line is escaped, the breaks kept."""


def clean(value: T, lines: bool = False) -> T:
    """`value` with `visible` applied to every string in it: dataclasses and tuples are walked, enums kept.

    Objects without anything to escape are returned as they are, so cleaning a clean report is cheap.
    """
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return (visible_lines(value) if lines else visible(value))  # type: ignore[return-value]
    if isinstance(value, tuple):
        items = tuple(clean(item, lines) for item in value)
        same = all(new is old for new, old in zip(items, value, strict=True))
        return value if same else items  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            if field.init:
                old = getattr(value, field.name)
                new = clean(old, field.name in MULTILINE_FIELDS)
                if new is not old:
                    changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


_LEGACY_COMMAND = re.compile(r"(##[A-Za-z]*)\[")
"""`##[command]` is read anywhere in a line by GitHub's runner (its v1 syntax); `##vso[` by Azure."""
_LEADING_COMMAND = re.compile(r"(?:^|(?<=\r))((?:\x1b\[[0-9;]*m|[^\S\r\n])*):(?=:)", re.MULTILINE)
"""`::command::` is read at the start of a line once leading whitespace (any Unicode space) is trimmed;
colour codes before it are skipped too, in case a log viewer strips them first."""


def block_commands(text: str, colon: str, bracket: str) -> str:
    """`text` where no line can be read as a CI workflow command.

    The medium supplies the escapes of `:` and `[` that leave its data unchanged for a parser of the
    medium (`\\u003a` in a JSON string, `&#58;` in XML) or visibly escaped (`\\x3a` on a terminal).
    """
    if "::" in text:
        text = _LEADING_COMMAND.sub(lambda m: m.group(1) + colon, text)
    if "##" in text:
        text = _LEGACY_COMMAND.sub(lambda m: m.group(1) + bracket, text)
    return text
