"""The compose gate: Docker Compose services judged for privileges, host access, users and images.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `options`: the `[compose]` table; `job`: config and flags -> `ComposeOptions` -> the job.
- `gate`: discovery by file name -> files -> services -> results.
- `schema`: the Compose specification's structure; `project`: `extends` resolved, positions kept;
  `interpolate`: `${VAR}` as compose reads it; `checks`: the rules; `rules`: their metadata.
- `command`: `gates compose`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.compose.rules import GATE
from gates.checks.compose.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = "Docker Compose services: privileged, capabilities, host namespaces and paths, users, images"
NEEDS_NETWORK = False
DEFAULT = False
ENVIRONMENT: Mapping[str, str] = {}


def data_files() -> tuple[DataFile, ...]:
    return ()


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.compose.options import TABLE

    return {NAME: TABLE}


def trusted_files(config: Config) -> Mapping[str, str]:
    return {}  # it names only the tree under test


def build_job(config: Config, flags: RunFlags) -> GateJob:
    from gates.checks.compose.job import compose_job

    return compose_job(config, flags.paths)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.compose.command import compose_command

    return compose_command
