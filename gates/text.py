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

import operator
import re
import sys
import unicodedata
from enum import Enum

from gates.record import field_names, replace
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format (bidi, zero-width), surrogate, line and paragraph separator characters."""
_NONCHARACTERS = frozenset({"\ufffe", "\uffff"})
"""Not characters at all; XML 1.0 forbids them."""
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


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


def json_shows_as_is(text: str) -> bool:
    """Whether a JSON text written with `ensure_ascii` shows only printable ASCII in its strings.

    Such an encoder writes every other character as an escape (`\\u001b`, `\\n`, `\\u007f`), and its
    only other escapes are `\\\\` and `\\"`: without a backslash followed by anything else, every string
    it was given is one `visible` returns unchanged, so the report needed no cleaning to render this text.
    (An escaped backslash before a letter, as in `C:\\users`, is taken for an escape: only a false alarm.)
    """
    return re.search(r'\\[^\\"]', text) is None


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


_FIELDS: dict[type, tuple[str, ...] | None] = {}
"""Per class, the init fields `clean` walks (None: not a record or dataclass), so a large report is walked fast."""


def _fields(kind: type) -> tuple[str, ...] | None:
    if kind not in _FIELDS:
        names = field_names(kind)
        dataclasses = sys.modules.get("dataclasses")  # a dataclass exists only once dataclasses is imported
        if names is None and dataclasses is not None and dataclasses.is_dataclass(kind) and not issubclass(kind, Enum):
            names = tuple(f.name for f in dataclasses.fields(kind) if f.init)
        _FIELDS[kind] = names
    return _FIELDS[kind]


def clean(value: T, lines: bool = False) -> T:
    """`value` with `visible` applied to every string in it: records, dataclasses and tuples are walked, enums kept.

    Objects without anything to escape are returned as they are, so cleaning a clean report is cheap.
    """
    kind = type(value)
    if kind is str:
        return (visible_lines(value) if lines else visible(value))  # type: ignore[arg-type, return-value]
    if kind is tuple:
        items = [clean(item, lines) for item in value]  # type: ignore[attr-defined]
        same = all(map(operator.is_, items, value))  # type: ignore[call-overload]
        return value if same else tuple(items)  # type: ignore[return-value]
    names = _fields(kind)
    if names is None:
        return value  # enums, numbers, dates, None
    changes = {}
    values = value.__dict__  # records and frozen dataclasses without slots, as the model's are
    for name in names:
        old = values[name]
        field_kind = type(old)
        if field_kind is str:
            if old.isprintable():
                continue  # the common case, decided without a call
        elif field_kind is tuple:
            if not old:
                continue
        elif _FIELDS.get(field_kind, ()) is None:
            continue  # a kind known to hold no text
        new = clean(old, name in MULTILINE_FIELDS)
        if new is not old:
            changes[name] = new
    return replace(value, **changes) if changes else value


_LEGACY_COMMAND = re.compile(r"(##[A-Za-z]*)\[")
"""`##[command]` is read anywhere in a line by GitHub's runner (its v1 syntax); `##vso[` by Azure."""
_last: list[tuple[object, object]] = []


def clean_once(value: T) -> T:
    """`clean`, remembered for the last value (and its result): every format of a run cleans one report."""
    if _last and (_last[0][0] is value or _last[0][1] is value):
        return _last[0][1]  # type: ignore[return-value]
    cleaned = clean(value)
    _last[:] = [(value, cleaned)]
    return cleaned


_SGR_PARAMETERS = re.compile(r"[0-9;]*")


def _starts_line(text: str, position: int) -> bool:
    """Whether only whitespace (any Unicode space, as the runner trims) and colour codes precede
    `position` on its line. Walks back from it, so a huge one-line document costs nothing."""
    index = position
    while index > 0:
        char = text[index - 1]
        if char in "\r\n":
            return True
        if char.isspace():
            index -= 1
        elif char == "m" and (escape := text.rfind("\x1b[", max(0, index - 32), index)) >= 0 \
                and _SGR_PARAMETERS.fullmatch(text, escape + 2, index - 1):
            index = escape  # a colour code, in case a log viewer strips them before reading commands
        else:
            return False
    return True


def _may_start_a_line(text: str) -> bool:
    """Whether a `::` of `text` could start a line. Not in one line (a compact JSON report) that begins with
    neither whitespace, a colour code nor `::`: `_starts_line` would walk back from each to that first
    character and stop. Two memchr scans, where the search for every `::` is a slower one."""
    if "\r" in text or text.find("\n", 0, len(text) - 1) >= 0:
        return True
    return not text or text[0].isspace() or text[0] == "\x1b" or text.startswith("::")


def block_commands(text: str, colon: str, bracket: str) -> str:
    """`text` where no line can be read as a CI workflow command.

    The medium supplies the escapes of `:` and `[` that leave its data unchanged for a parser of the
    medium (`\\u003a` in a JSON string, `&#58;` in XML) or visibly escaped (`\\x3a` on a terminal).
    """
    if "::" in text and _may_start_a_line(text):
        pieces: list[str] = []
        done = 0
        found = text.find("::")
        while found >= 0:
            if _starts_line(text, found):
                pieces += [text[done:found], colon]
                done = found + 1
            found = text.find("::", found + 2)
        text = "".join(pieces) + text[done:] if pieces else text
    if "##" in text:
        text = _LEGACY_COMMAND.sub(lambda m: m.group(1) + bracket, text)
    return text
