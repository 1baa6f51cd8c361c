"""A rule's test in a few lines: input text in; (rule, resource, "LINE:COL") out, through the real gate.

    def test_privileged(tmp_path: Path) -> None:
        expect_findings(tmp_path, POD_TEXT, ("pss-privileged", "Pod/shop/web", "9:7"))

The gate is looked up in the registry and run through the engine as `gates run` runs it, so a rule
that is not wired into its gate fails here too. Any finding not listed fails the test, so each case
also proves that nothing else fires.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from gates.checks import GATES, load_config
from gates.engine import run
from gates.gate import RunFlags
from gates.model import Outcome, Report

Expected = tuple[str, str, str]
"""(rule id, resource, "LINE:COL") of one finding."""


def gate_report(tmp_path: Path, text: str, *, gate: str = "manifests", filename: str = "input.yaml",
                config: str = "", level: str | None = None) -> Report:
    """Write `text` (dedented) to `filename` and run `gate` over it with `config` as its gates.toml."""
    target = tmp_path / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    config_file = tmp_path / "gates.toml"
    config_file.write_text(textwrap.dedent(config), encoding="utf-8")
    loaded = load_config(config_file, env={})
    job = GATES[gate].build_job(loaded, RunFlags(paths=(str(target),), level=level))
    return run([job], waivers=loaded.waivers, fail_on=loaded.fail_on, today=loaded.today)


def findings_of(report: Report) -> set[Expected]:
    found: set[Expected] = set()
    for result in report.results:
        assert result.outcome is not Outcome.ERROR, f"{result.target}: {result.error}"
        for finding in result.findings:
            where = f"{finding.location.line}:{finding.location.column}" if finding.location else "-"
            found.add((finding.rule, finding.resource or "", where))
    return found


def expect_findings(tmp_path: Path, text: str, *expected: Expected, gate: str = "manifests",
                    options: Mapping[str, str] | None = None, **kwargs: str) -> None:
    """Assert that `gate` finds exactly `expected` in `text`; `options` are lines of the gate's table."""
    table = "".join(f"{key} = {value}\n" for key, value in (options or {}).items())
    config = f"[{gate}]\n{table}" if table else ""
    report = gate_report(tmp_path, text, gate=gate, config=config, **kwargs)
    found, wanted = findings_of(report), set(expected)
    assert found == wanted, f"found {sorted(found)}, expected {sorted(wanted)}"
