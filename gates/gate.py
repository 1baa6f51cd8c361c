"""What a gate is to the rest of gates: the `Gate` protocol every gate package satisfies, and the
small values that pass between a command line and a gate.

A gate is a package `gates/checks/<name>/` whose `__init__` module *is* the gate (modules satisfy
protocols, as pre-commit's languages do), registered by one line in `gates/checks/__init__.py`.
Its `__init__` stays light: config loading and `gates list` import every gate's, never its logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gates.record import record
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Protocol

    from gates.config import Config
    from gates.engine import GateJob
    from gates.model import Severity
    from gates.rules import Rule
    from gates.validators import Schema
else:  # only type checkers need the protocol: to the interpreter it is a plain class
    Protocol = object


@record
class CommonOptions:
    """The flags every gate command takes."""

    config: Path | None
    formats: list[str] | None
    outputs: list[str] | None
    fail_on: Severity | None
    verbose: bool
    allow_output_outside_workspace: bool = False
    """`--allow-output-outside-workspace`: under CI, `--output` files may land outside the workspace."""
    config_ref: str | None = None
    """`--config-ref`: read the configuration from this git ref (the tree under test stays the checkout)."""
    color: str = "auto"
    """`--color`: `auto`, `always` or `never` (the console report's ANSI colours)."""
    config_outputs: bool = True
    """False with `--no-config-outputs`: the configuration's `[output]` files are not written (hooks)."""
    shard: str | None = None
    """`--shard K/N` as given: judge only this shard's targets (see `gates.shard`)."""
    baseline: Path | None = None
    """`--baseline PATH`: findings in this baseline do not block (see `gates.baseline`)."""


@record
class RunFlags:
    """What `gates run` passes every enabled gate: its positional paths and `--level`; most ignore both."""

    paths: tuple[str, ...] = ()
    level: str | None = None


@record
class Invocation:
    """What a gate's command returns once its flags are parsed: the run is then the runner's, not the CLI's."""

    common: CommonOptions
    job: Callable[[Config], GateJob]
    """Builds the gate's job from the loaded configuration (and the flags the command closed over)."""
    now: str | None = None
    """`--now DATE`, for the gates that take it."""


@record
class DataFile:
    """A dated data file a gate ships and `gates data update` refreshes from endoflife.date's pages."""

    name: str
    """Its file name, under `gates/data/` as shipped and `$XDG_DATA_HOME/gates/` once refreshed."""
    products: tuple[str, ...]
    """The endoflife.date products it holds."""


class Gate(Protocol):
    """One gate: a package under `gates/checks/`, registered in `gates.checks.GATES`."""

    NAME: str
    """Its name: the command (`gates NAME`), the config table `[NAME]`, the value in `gates = [...]`."""
    SUMMARY: str
    """One line for `gates list`, the CLI's help and the README."""
    NEEDS_NETWORK: bool
    """Whether it talks to registries (a manifest scan never does)."""
    DEFAULT: bool
    """Whether `gates run` runs it when the configuration names no gates."""
    ENVIRONMENT: Mapping[str, str]
    """Environment variables that override a key of its table: `GATES_LEVEL` -> `level`."""

    @property
    def RULES(self) -> Sequence[Rule]:
        """Its rules, each with the text `gates explain` prints (from its light `rules` module)."""
        ...

    def data_files(self) -> Sequence[DataFile]:
        """The data files it ships that `gates data update` refreshes (most gates have none)."""
        ...

    def config_tables(self) -> Mapping[str, Schema]:
        """Its configuration tables (its own `[NAME]` first): key -> (validator, default)."""
        ...

    def trusted_files(self, config: Config) -> Mapping[str, str]:
        """Files its configuration names and trusts (keys, trust roots, data), by dotted key, as written.

        With `--config-ref` each must be exactly as the trusted ref has it, or the tree under test could
        keep the strict policy and swap the key it names."""
        ...

    def build_job(self, config: Config, flags: RunFlags) -> GateJob:
        """Its job under `gates run`; raises `UsageError` / `ConfigError` before anything runs."""
        ...

    def cli_command(self) -> Callable[..., Invocation]:
        """Its typer command function (imported on demand, with the CLI)."""
        ...
