"""The escaping functions every reporter relies on (gates.text, and the Markdown code spans of github)."""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from gates.model import Finding, Location, Outcome, Report, Result, Severity, Waiver
from gates.progress import Progress
from gates.reporters.github import code, fence_commands
from gates.text import block_commands, clean, for_terminal, visible
from tests.reporters.conftest import hand_report
from tests.reporters.workflow_commands import processed_commands


def test_exactly_control_format_surrogate_and_separator_characters_are_escaped() -> None:
    """Against this Python's Unicode database, every code point: escaped iff it acts instead of showing."""
    wrong = []
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        acts = unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"} or char in "\ufffe\uffff"
        if (visible(char) != char) is not acts:
            wrong.append(hex(code_point))
    assert not wrong


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[2J", "\\x1b[2J"), ("a\r\nb", "a\\r\\nb"), ("\t", "\\t"), ("\x9b", "\\x9b"),
    ("\u202eevil", "\\u202eevil"), ("\u2066\u2069\u200e\u200f\u061c", "\\u2066\\u2069\\u200e\\u200f\\u061c"),
    ("\u2028\u2029", "\\u2028\\u2029"), ("\U000e0001", "\\U000e0001"), ("\ufeff", "\\ufeff"),
    ("bad\udcffname", "bad\\xffname"), ("\ud800", "\\ud800"),
    ("ünïcødé 名前 ✓ \u00a0", "ünïcødé 名前 ✓ \u00a0"), ("C:\\path", "C:\\path"),
])
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible(shown) == shown  # idempotent: cleaning twice changes nothing
    assert shown.encode("utf-8")  # never a surrogate left to break an encoder


def test_clean_walks_a_report_and_keeps_clean_objects() -> None:
    finding = Finding("pss-privileged", Severity.HIGH, "container \"\x1b[31m\" is privileged",
                      Location("k8s/\udcff.yaml", 3), resource="Pod/\u202e", notes=("n\n",),
                      waiver=Waiver("why\r", "src\x00", dt.date(2030, 1, 1)))
    ok = Finding("pss-privileged", Severity.HIGH, "fine", Location("k8s/ok.yaml", 1))
    report = Report((Result("manifests", "t\x07", Outcome.FAILED, (finding, ok), details=("d\x1b",)),),
                    gates=("manifests",), internal_errors=("a\x1b\nb",))
    cleaned = clean(report)
    result = cleaned.results[0]
    shown = result.findings[0]
    assert (result.target, result.details) == ("t\\x07", ("d\\x1b",))
    assert shown.message == 'container "\\x1b[31m" is privileged'
    assert (shown.location.path, shown.resource, shown.notes) == ("k8s/\\xff.yaml", "Pod/\\u202e", ("n\\n",))
    assert shown.waiver == Waiver("why\\r", "src\\x00", dt.date(2030, 1, 1))
    assert cleaned.internal_errors == ("a\\x1b\nb",)  # a traceback keeps its lines, each escaped
    assert (result.outcome, shown.severity, cleaned.generated) == (Outcome.FAILED, Severity.HIGH, report.generated)
    assert result.findings[1] is ok  # nothing to escape: the same object
    assert clean(cleaned) is cleaned


def test_hand_report_is_left_alone(tmp_path: Path) -> None:
    report = hand_report(tmp_path)
    cleaned = clean(report)
    tricky = cleaned.results[0].findings[1]
    assert tricky.message == "50% of volumes: a,b\\nsecond line ::error::injected"
    assert cleaned.results[1:] == report.results[1:] and cleaned.results[1] is report.results[1]


@pytest.mark.parametrize("line", [
    "::error::x", "  ::warning file=a::x", "\u00a0\u3000::error::x", "\t::error::x", "\x1b[2m    ::error::x",
    "a ##[error]x", "##[set-output name=a]b", "x\r::error::y",
])
def test_block_commands_leaves_no_command(line: str) -> None:
    uncoloured = re.compile(r"\x1b\[[0-9;]*m")  # in case a log viewer strips colours before reading commands
    assert processed_commands(uncoloured.sub("", line))
    blocked = block_commands(line, "\\x3a", "\\x5b")
    assert not processed_commands(uncoloured.sub("", blocked)), blocked
    assert block_commands("a::b ## [c] #[d]", "\\x3a", "\\x5b") == "a::b ## [c] #[d]"


def test_for_terminal_is_one_inert_line() -> None:
    message = for_terminal("gates: error: key \x1b[31m\n::error::x ##[warning]y")
    assert message == "gates: error: key \\x1b[31m\\n::error::x ##\\x5bwarning]y"
    assert for_terminal("Traceback:\n  ::error::x\n", lines=True) == "Traceback:\n  \\x3a:error::x\n"


def test_fence_commands_uses_a_fresh_token() -> None:
    first, second = fence_commands("::error::x\n"), fence_commands("::error::x")
    assert first.splitlines()[0] != second.splitlines()[0]
    assert processed_commands(first) == processed_commands(second) == []
    assert processed_commands(first + "::warning::after\n")[0].data == "after"  # resumed


def _code_spans(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(f"| a |\n| --- |\n| {markdown} |\n")
    body = tokens[[t.type for t in tokens].index("tbody_open"):]
    inline = [child for token in body for child in token.children or []]
    assert all(t.type == "code_inline" for t in inline), [(t.type, t.content) for t in inline]
    return [t.content for t in inline]


@pytest.mark.parametrize("text", ["plain", "`", "a`b``c", "`start", "end`", "a|b\\|c", "[x](y) <b>",
                                  "![i](u)", "<script>x</script>"])
def test_code_spans_show_text_literally(text: str) -> None:
    assert _code_spans(code(text)) == [text]


def test_code_span_of_nothing_is_an_empty_cell() -> None:
    assert code("") == code("  ") == ""
    assert _code_spans(code("  two   words ")) == ["two words"]
    assert code("x" * 50, limit=10) == "`xxxxxxxxx…`"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_shows_image_names_escaped() -> None:
    """The progress line on a terminal names images from the configuration, which a pull request writes."""
    terminal = _Terminal()
    with Progress("signature", 2, terminal) as progress:
        progress.advance("ghcr.io/a/b:1\x1b]0;pwned\x07\x1b[2J")
    shown = terminal.getvalue()
    assert "ghcr.io/a/b:1\\x1b]0;pwned\\x07\\x1b[2J" in shown
    assert "\x1b" not in shown and "\x07" not in shown
