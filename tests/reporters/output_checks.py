"""Checks that a report is safe to show whatever the scanned content said, shared by the CLI and fuzz tests.

Each check parses the output the way its reader does (a terminal, GitHub's runner, an XML or JSON
parser, a GFM renderer) rather than searching for the payloads gates is expected to escape.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.reporters.conftest import SCHEMAS
from tests.reporters.workflow_commands import processed_commands
from tests.support.report_schema import validate_report

PAYLOADS = (
    "\x1b[31mred\x1b[0m", "\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07", "\x9b2J", "bare\rCR", "LF\nPASSED",
    "\u202egnp.exe", "\u2066iso\u2069", "\u200e\u200f\u061c", "line\u2028sep\u2029", "\x00nul\x07bel\x7f",
    "::error::injected", "  ::warning file=x::w", "\u00a0::notice::nbsp", "x ##[error]legacy", "##[set-output name=a]b",
    "100%0A%25", "]]>", "\udcff\udc80surrogate", "\ud800lone", "[x](https://evil.example)",
    "![i](https://evil.example/i.png)", "<script>alert(1)</script>", "`tick``s`", "a|b", "www.evil.example",
    "\ufffe\uffff", "\U000e0001tag",
)
"""Fragments of hostile text, each aimed at one reader."""

RAW_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Characters a report must never carry raw (line feeds between gates' own lines aside)."""


def quoted(value: object) -> str:
    """`value` as JSON that YAML and TOML read too: control characters escaped, astral ones as `\\U`."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match[1], 16), int(match[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", astral, json.dumps(value))


def raw_controls(text: str) -> list[str]:
    """Control, format, surrogate and separator characters in `text`, other than line feeds."""
    lines = (line for line in text.split("\n") if not line.isprintable())  # a fast pre-filter, then the rule
    return [c for line in lines for c in line if unicodedata.category(c) in RAW_CATEGORIES or c in "\ufffe\uffff"]


def assert_no_raw_controls(text: str, where: str) -> None:
    found = raw_controls(text)
    assert not found, f"{where}: raw {sorted({hex(ord(c)) for c in found})}"


def assert_no_workflow_command(text: str, where: str) -> None:
    commands = processed_commands(text)
    assert not commands, f"{where}: the runner would run {commands[0].line!r}"


def assert_valid_json(text: str, where: str) -> Any:
    """A JSON document that strict UTF-8 encoders and parsers accept: no (escaped) lone surrogates."""
    text.encode("utf-8")
    data = json.loads(text)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AssertionError(f"{where}: a lone surrogate, escaped as {exc.object[exc.start:exc.end]!r}") from None
    if where == "json":  # gates' own report: also what its shipped schema says
        validate_report(text, where)
    return data


@functools.lru_cache(maxsize=1)
def _junit_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


def assert_valid_junit(text: str, where: str) -> ET.Element:
    """Well-formed XML 1.0 that validates against the Surefire schema (less the file/line extension)."""
    root = ET.fromstring(text.encode("utf-8"))
    for case in root.iter("testcase"):  # the extensions GitLab and GitHub read; Surefire lacks them
        case.attrib.pop("file", None)
        case.attrib.pop("line", None)
    _junit_schema().validate(ET.ElementTree(root))
    return root


_UNSAFE_TOKENS = frozenset({"link_open", "image", "html_inline", "html_block", "autolink"})
_AUTOLINK_HINTS = ("://", "www.", "@")
"""What GitHub's autolink extension turns into a link in plain text (gates' own text has none)."""


def _inline_tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _inline_tokens(token.children)


def assert_safe_markdown(text: str, where: str) -> None:
    """No link, image or HTML renders, and plain text (outside code spans) could not autolink."""
    tokens = list(_inline_tokens(MarkdownIt("commonmark").enable("table").parse(text)))
    unsafe = [t for t in tokens if t.type in _UNSAFE_TOKENS]
    assert not unsafe, f"{where}: renders {unsafe[0].type} {unsafe[0].content!r}"
    for token in tokens:
        if token.type == "text":
            assert not any(hint in token.content for hint in _AUTOLINK_HINTS), f"{where}: {token.content!r}"
