"""The vulnerabilities gate: judge the reports a team's scanner already writes, with gates' policy.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `jsondoc`: a report or VEX file read within a size limit, strict JSON, with line:column of objects.
- `sniff`: which format a file is, from its content (never its name); ambiguity is refused.
- `trivy`, `grype`, `gitlab`, `cyclonedx`: each format -> `record.ScannedReport`.
- `vex`: OpenVEX documents and which statement decides a finding.
- `gate`: the policy (ignore-unfixed, min-severity, VEX, fix grace) -> one result per report.
- `job`: config and flags -> the job; `command`: `gates vulnerabilities`.

Light: no network, no sigstore, no requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.vulnerabilities.rules import GATE
from gates.checks.vulnerabilities.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = "vulnerability reports of scanners (Trivy, Grype, GitLab, CycloneDX) judged with OpenVEX and waivers"
NEEDS_NETWORK = False
DEFAULT = False
ENVIRONMENT: Mapping[str, str] = {}


def data_files() -> tuple[DataFile, ...]:
    return ()


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.vulnerabilities.options import TABLE

    return {NAME: TABLE}


def trusted_files(config: Config) -> Mapping[str, str]:
    """VEX documents suppress findings: under `--config-ref` the tree under test may not rewrite them."""
    vex = config.sections.get(NAME, {}).get("vex", ())
    return {f"{NAME}.vex[{index}]": path for index, path in enumerate(vex, start=1)}


def build_job(config: Config, flags: RunFlags) -> GateJob:
    """Under `gates run`, the reports come from `[vulnerabilities] reports`: run's paths are manifests'."""
    from gates.checks.vulnerabilities.job import vulnerabilities_job

    return vulnerabilities_job(config)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.vulnerabilities.command import vulnerabilities_command

    return vulnerabilities_command
