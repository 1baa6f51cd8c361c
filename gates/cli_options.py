"""The command-line options every gate command shares, as typer annotations.

A module of its own so each gate's `command` module can declare them without importing the CLI
(which imports the gate registry: that would be a circle).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from gates.config import FORMATS
from gates.model import Severity

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", metavar="PATH",
    help="Configuration file (default: gates.toml or [tool.gates] in pyproject.toml, searched upward).")]
ConfigRefOpt = Annotated[str | None, typer.Option(
    "--config-ref", metavar="REF",
    help="Read the configuration from this git ref (e.g. the pull request's base branch, origin/main), "
         "not from the checkout, so the tree under test cannot weaken its own policy (also GATES_CONFIG_REF).")]
FormatOpt = Annotated[list[str] | None, typer.Option(
    "--format", "-f", metavar="FORMAT", help="Output on stdout: " + ", ".join(FORMATS) + " (repeatable).")]
OutputOpt = Annotated[list[str] | None, typer.Option(
    "--output", "-o", metavar="FORMAT=PATH", help="Also write a report to a file (repeatable).")]
FailOnOpt = Annotated[Severity | None, typer.Option(
    "--fail-on", metavar="SEVERITY", case_sensitive=False,
    help="Lowest severity that fails the run: info, low, medium, high, critical (any case).")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="List passing targets; each finding's fix in full; tracebacks on internal errors.")]


class ColorChoice(str, Enum):
    """`--color`: whether the console report uses ANSI colours."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


ColorOpt = Annotated[ColorChoice, typer.Option(
    "--color", metavar="WHEN", case_sensitive=False,
    help="Colour the console report: auto (on a terminal unless TERM=dumb or NO_COLOR is set; FORCE_COLOR"
         " forces it), always, never.")]
AllowOutsideOpt = Annotated[bool, typer.Option(
    "--allow-output-outside-workspace",
    help="Under CI, let --output files land outside the workspace ([output] paths never do; also"
         " GATES_ALLOW_OUTPUT_OUTSIDE_WORKSPACE=true).")]
NoConfigOutputsOpt = Annotated[bool, typer.Option(
    "--no-config-outputs",
    help="Write none of the configuration's [output] report files (--output still writes): for git hooks,"
         " which must leave the working tree as it was.")]
ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="SHARD",
    help="K/N (e.g. 2/4): judge only shard K of N of the targets (files, image references), split by a"
         " stable hash of each target, for a CI matrix; `gates merge` folds the shards' JSON reports into the"
         " verdict (under GitLab's parallel: N, CI_NODE_INDEX/CI_NODE_TOTAL are read when this flag is not given).")]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", metavar="PATH",
    help="A baseline file (`gates baseline write PATH`): findings in it are shown and counted, never blocking;"
         " new ones block, and so do those in it longer than [baseline] max-age-days (default: [baseline] path).")]
LevelOpt = Annotated[str | None, typer.Option(
    "--level", metavar="LEVEL", help="Pod Security Standards level: baseline or restricted (default restricted).")]
NowOpt = Annotated[str | None, typer.Option(
    "--now", metavar="DATE", help="Judge as of this date (YYYY-MM-DD; also GATES_NOW).")]


def option(flag: str, help: str, metavar: str | None = None) -> typer.models.OptionInfo:
    """A flag with no default shown: most gate flags default to "take the configuration's value"."""
    return typer.Option(flag, help=help, metavar=metavar, show_default=False)  # type: ignore[no-any-return]
