"""Reporters turn a finished `Report` into text. They never decide outcomes.

Every reporter is a module with `render(report: Report, context: RenderContext) -> str`, selected by
`Format` through `renderer()`, one exhaustive factory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from gates.model import Report
from gates.rules import Rule


class Format(str, Enum):
    CONSOLE = "console"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITLAB = "gitlab-codequality"
    GITHUB = "github"


@dataclass(frozen=True)
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

_MODULES: dict[Format, str] = {
    Format.CONSOLE: "gates.reporters.console",
    Format.JSON: "gates.reporters.json_report",
    Format.JUNIT: "gates.reporters.junit",
    Format.SARIF: "gates.reporters.sarif",
    Format.GITLAB: "gates.reporters.gitlab_codequality",
    Format.GITHUB: "gates.reporters.github",
}


def renderer(fmt: Format) -> Renderer:
    """The render function of a format, imported only when asked for."""
    module = importlib.import_module(_MODULES[fmt])
    render: Renderer = module.render
    return render
