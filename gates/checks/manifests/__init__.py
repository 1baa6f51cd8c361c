"""The manifest gate: Pod Security Standards and hardening rules over Kubernetes YAML and JSON.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `options`: the `[manifests]` table.
- `job`: config and flags -> `ManifestOptions` -> the job.
- `gate`: discovery -> documents -> objects -> findings; `workloads`, `pss`, `hardening`, `pod_hardening`,
  `secrets`, `access` (RBAC in `rbac`, Services in `services`, Gateway API in `gateway`, ingress-nginx in
  `ingress`) and `network_policy` (its shape in `policy_model`, Calico in `calico`, Cilium in `cilium`) hold
  the checks, `rules` their metadata; `rendering` turns kustomizations and Helm charts into what ships
  before they are judged; `admission` writes the checks as CEL for `gates export admission`.
- `command`: `gates manifests`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.manifests.rules import GATE
from gates.checks.manifests.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = "Pod Security Standards and hardening rules over Kubernetes manifests"
NEEDS_NETWORK = False
DEFAULT = True
ENVIRONMENT: Mapping[str, str] = {"GATES_LEVEL": "level"}


def data_files() -> tuple[DataFile, ...]:
    return ()


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.manifests.options import TABLE

    return {NAME: TABLE}



def trusted_files(config: Config) -> Mapping[str, str]:
    return {}  # it names only the tree under test


def build_job(config: Config, flags: RunFlags) -> GateJob:
    from gates.checks.manifests.job import manifest_job

    return manifest_job(config, flags.paths, flags.level)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.manifests.command import manifests_command

    return manifests_command
