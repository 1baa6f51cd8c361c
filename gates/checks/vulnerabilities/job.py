"""Build the vulnerabilities gate's job from the configuration and flags, before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gates.checks.vulnerabilities.gate import VulnerabilityOptions, check_reports, shown_path
from gates.checks.vulnerabilities.rules import GATE
from gates.config import Config
from gates.engine import GateJob
from gates.errors import UsageError
from gates.model import Severity
from gates.paths import display_path


@dataclass(frozen=True)
class Flags:
    """What the command line gave; None = the configuration's value."""

    reports: tuple[str, ...] = ()
    vex: tuple[str, ...] = ()
    ignore_unfixed: bool | None = None
    min_severity: Severity | None = None
    fix_grace_days: int | None = None


def vulnerabilities_job(config: Config, flags: Flags | None = None) -> GateJob:
    """The gate over the reports of the command line, else of `[vulnerabilities] reports`."""
    flags = flags or Flags()
    section = config.section(GATE)
    base = config.source.parent if config.source else Path.cwd()
    reports = flags.reports or tuple(str(base / p) for p in section["reports"])
    if not reports:
        where = display_path(config.source) if config.source else "the configuration"
        raise UsageError(f"the vulnerabilities gate has no reports to judge: give `gates vulnerabilities` REPORT"
                         f" arguments, or list them in [vulnerabilities] reports ({where})")
    if config.shard is not None:  # each report is its own target (every shard reads all the VEX documents)
        reports = tuple(config.shard.select(reports, shown_path))
    vex = flags.vex or tuple(str(base / p) for p in section["vex"])
    options = VulnerabilityOptions(
        reports=reports,
        vex=vex,
        ignore_unfixed=section["ignore-unfixed"] if flags.ignore_unfixed is None else flags.ignore_unfixed,
        min_severity=flags.min_severity or section["min-severity"],
        unrated_severity=section["unrated-severity"],
        fix_grace_days=section["fix-grace-days"] if flags.fix_grace_days is None else flags.fix_grace_days,
        max_report_bytes=section["max-report-bytes"],
    )
    return GateJob(GATE, lambda: check_reports(options, config.today))
