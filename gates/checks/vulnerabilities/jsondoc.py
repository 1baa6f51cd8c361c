"""A JSON file read within a size limit, parsed strictly, with the line:column of every object.

Scanner reports and VEX documents are JSON; findings should point at the entry they come from. The
standard library's own scanner is used with its object hook wrapped to remember where each object
starts, so no hand-written parser is involved. Strict on what JSON forbids or makes ambiguous:
duplicate keys (two tools could read different values), NaN/Infinity, nesting deep enough to exhaust
the parser, and bytes that are not UTF-8.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from dataclasses import dataclass
from typing import Any

from gates.errors import InputError
from gates.targets.files import NotRegularFile, read_regular

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Reports larger than this are refused: a real image's Trivy report is a few megabytes."""


class JsonObject(dict[str, Any]):
    """A JSON object that remembers the character offset of its opening brace."""

    __slots__ = ("offset",)

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0


@dataclass(frozen=True)
class JsonDocument:
    """A parsed file: its content and the offsets of its line starts, to turn offsets into positions."""

    content: Any
    line_starts: tuple[int, ...]

    def position(self, node: object) -> tuple[int, int] | None:
        """1-based (line, column) of an object, or None for anything that does not know its offset."""
        if not isinstance(node, JsonObject):
            return None
        line = bisect.bisect_right(self.line_starts, node.offset)
        return line, node.offset - self.line_starts[line - 1] + 1


class _DuplicateKey(ValueError):
    """A key twice in one object; `offset` is where that object starts, once known."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
        self.offset: int | None = None


def _pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject()
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        try:
            obj, end = json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
        except _DuplicateKey as exc:
            if exc.offset is None:  # the innermost object holds the duplicate
                exc.offset = s_and_end[1] - 1
            raise
        obj.offset = s_and_end[1] - 1
        return obj, end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def read_bytes(path: str, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes`; never blocks on a pipe or device swapped in."""
    try:
        data = read_regular(path, max_bytes + 1)
    except NotRegularFile:
        raise InputError("not a regular file: not read") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"larger than the {max_bytes} byte limit (max-report-bytes)")
    return data


def parse(data: bytes) -> JsonDocument:
    """Parse JSON bytes; an `InputError` names the line and column of what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}): not JSON") from None
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    try:
        content = _decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply to parse") from None
    except _DuplicateKey as exc:
        line = bisect.bisect_right(starts, exc.offset or 0)
        column = (exc.offset or 0) - starts[line - 1] + 1
        raise InputError(f"line {line}, column {column}: not accepted as JSON: the object repeats the key"
                         f" {exc.key!r} (tools disagree on which value counts)") from None
    except ValueError as exc:  # duplicate keys, NaN, integers beyond Python's digit limit
        raise InputError(f"not accepted as JSON: {exc}") from None
    return JsonDocument(content, tuple(starts))


def load(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> JsonDocument:
    """Read and parse a JSON file within `max_bytes`."""
    return parse(read_bytes(path, max_bytes))
