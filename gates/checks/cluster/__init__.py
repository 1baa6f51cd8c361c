"""The cluster gate: control-plane configuration as code (kubeadm, kind and k3s configs, static pod
manifests, KubeletConfiguration, audit Policy, EncryptionConfiguration) against the CIS Kubernetes
Benchmark's flag and file controls.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `options`: the `[cluster]` table; `job`: config and flags -> the job; `command`: `gates cluster`.
- `gate`: files -> documents -> cluster objects (`discovery`) -> findings.
- `flags` reads a component's command line as its flag parser does; `kubeadm` holds the flags kubeadm
  sets itself; `apiserver`, `node` (kubelet, etcd), `audit`, `encryption` hold the checks; `rules` their text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.cluster.rules import GATE
from gates.checks.cluster.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = "CIS controls over cluster configuration as code: API server, etcd, kubelet, audit, encryption"
NEEDS_NETWORK = False
DEFAULT = False
ENVIRONMENT: Mapping[str, str] = {}


def data_files() -> tuple[DataFile, ...]:
    from gates.checks.cluster.versions import DATA_FILE, PRODUCTS
    from gates.gate import DataFile

    return (DataFile(DATA_FILE, PRODUCTS),)


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.cluster.options import TABLE

    return {NAME: TABLE}


def trusted_files(config: Config) -> Mapping[str, str]:
    return {}  # it names only the tree under test


def build_job(config: Config, flags: RunFlags) -> GateJob:
    from gates.checks.cluster.job import cluster_job

    return cluster_job(config, flags.paths)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.cluster.command import cluster_command

    return cluster_command
