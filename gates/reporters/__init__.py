"""Reporters turn a finished `Report` into text. They never decide outcomes.

Every reporter is a module with `render(report: Report, context: RenderContext) -> str`, selected by
`Format` through `renderer()`, one exhaustive factory. A reporter of large documents may also have
`render_pieces` (the same text as a list of strings), so a report is written without one string of all of it
(`pieces_renderer()`). It is also the boundary where untrusted text is
made safe: the report reaches a reporter cleaned (`gates.text.clean`: no control, bidi or undecodable
characters), and the text it returns is passed through `gates.text.block_commands` with the escapes of
its medium, so no line of any report can act as a CI workflow command.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path

from gates.model import Report
from gates.record import field, record
from gates.rules import Rule
from gates.text import block_commands, clean_once, json_shows_as_is


class Format(str, Enum):
    CONSOLE = "console"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITLAB = "gitlab-codequality"
    GITHUB = "github"
    OPENMETRICS = "openmetrics"


@record
class RenderContext:
    """What a reporter may need besides the report itself."""

    root: Path
    """Directory that file paths are made relative to (the repository root)."""
    version: str
    """gates' version, for tool metadata."""
    rules: Mapping[str, Rule] = field(default_factory=dict)
    """Rule metadata by ID, for help texts."""
    color: bool = False
    """Console only: use ANSI colours."""
    verbose: bool = False


Renderer = Callable[[Report, RenderContext], str]
PiecesRenderer = Callable[[Report, RenderContext], list[str]]

_MODULES: dict[Format, str] = {
    Format.CONSOLE: "gates.reporters.console",
    Format.JSON: "gates.reporters.json_report",
    Format.JUNIT: "gates.reporters.junit",
    Format.SARIF: "gates.reporters.sarif",
    Format.GITLAB: "gates.reporters.gitlab_codequality",
    Format.GITHUB: "gates.reporters.github",
    Format.OPENMETRICS: "gates.reporters.openmetrics",
}


_JSON_ESCAPES = ("\\u003a", "\\u005b")
_COMMAND_ESCAPES: dict[Format, tuple[str, str] | None] = {
    Format.CONSOLE: ("\\x3a", "\\x5b"),
    Format.JSON: _JSON_ESCAPES,
    Format.JUNIT: ("&#58;", "&#91;"),
    Format.SARIF: _JSON_ESCAPES,
    Format.GITLAB: _JSON_ESCAPES,
    Format.GITHUB: None,  # its lines are gates' own commands; untrusted text in them is %-escaped
    Format.OPENMETRICS: ("\\x3a", "\\x5b"),  # never needed: its lines start with a metric name or `#`
}
"""How each medium writes `:` and `[` so that a parser of the medium reads the same text."""


_TELLS_IF_CLEAN: dict[Format, Callable[[str], bool]] = {Format.JSON: json_shows_as_is}
"""Formats whose text, rendered from the report as it is, shows whether cleaning would have changed it.
Cleaning walks every string of the report (a fifth of rendering a large JSON report); the JSON text is
checked in one regular-expression scan, and rendered again from the cleaned report only if that fails."""


def renderer(fmt: Format) -> Renderer:
    """The render function of a format, imported only when asked for, wrapped in the safety boundary."""
    render = pieces_renderer(fmt)

    def joined(report: Report, context: RenderContext) -> str:
        return "".join(render(report, context))

    return joined


def _one_piece(render: Renderer) -> PiecesRenderer:
    """A reporter without `render_pieces`: its text as one piece."""
    def one_piece(report: Report, context: RenderContext) -> list[str]:
        return [render(report, context)]

    return one_piece


def pieces_renderer(fmt: Format) -> PiecesRenderer:
    """As `renderer`, the text in the reporter's pieces (one piece if it has no `render_pieces`).

    Each piece is escaped on its own: a reporter splits its text only where no workflow command can
    span two pieces nor start one (see `gates.reporters.json_report.render_pieces`).
    """
    module = importlib.import_module(_MODULES[fmt])
    pieces_of: PiecesRenderer = getattr(module, "render_pieces", None) or _one_piece(module.render)
    escapes = _COMMAND_ESCAPES[fmt]
    tells_if_clean = _TELLS_IF_CLEAN.get(fmt)

    def safe_render(report: Report, context: RenderContext) -> list[str]:
        pieces = None
        if tells_if_clean is not None:  # rendered as it is; kept only if that shows nothing to clean
            pieces = pieces_of(report, context)
            if not all(tells_if_clean(piece) for piece in pieces):
                pieces = None
        if pieces is None:
            pieces = pieces_of(clean_once(report), context)
        return pieces if escapes is None else [block_commands(piece, *escapes) for piece in pieces]

    return safe_render
