"""OpenMetrics output, read back with prometheus_client's parsers (OpenMetrics, and the Prometheus text
format a Pushgateway takes), and checked against the JSON report of the same run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from gates.model import Outcome, Report, Result, Severity
from gates.reporters import Format, renderer
from tests.conftest import run_process
from tests.reporters.conftest import context, hand_report


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by metric name, from the OpenMetrics parser; the Prometheus text parser must agree."""
    families = {f.name: f for f in parse_openmetrics(text)}  # type: ignore[no-untyped-call]
    assert {f.name: f.type for f in families.values()} == {f.name: f.type for f in parse_prometheus(text)}
    assert all(f.type == "gauge" for f in families.values())
    return {name: [(dict(s.labels), s.value) for s in f.samples] for name, f in families.items()}


def _by(samples: list[tuple[dict[str, str], float]], *keys: str) -> dict[tuple[str, ...], float]:
    return {tuple(labels[k] for k in keys): value for labels, value in samples}


def test_a_run_as_metrics_matches_its_json_report(project: Path) -> None:
    run = run_process(["run", "k8s", "--format", "openmetrics", "--output", "json=out/r.json",
                       "--output", "openmetrics=out/r.om"], cwd=project)
    assert run.code == 1, run.err
    assert run.out.endswith("# EOF\n")
    assert (project / "out" / "r.om").read_text(encoding="utf-8").startswith("# TYPE gates_run_outcome gauge")
    report: dict[str, Any] = json.loads((project / "out" / "r.json").read_text(encoding="utf-8"))
    samples = _samples(run.out)

    assert _by(samples["gates_run_outcome"], "outcome") == {("passed",): 0, ("failed",): 0, ("error",): 1}
    results = _by(samples["gates_results"], "gate", "outcome")
    assert results == {("manifests", outcome): count for outcome, count in report["summary"]["results"].items()}
    assert results["manifests", "failed"] >= 1 and results["manifests", "error"] == 1

    def status(finding: dict[str, Any]) -> str:
        return "waived" if finding["waived"] else "blocking" if finding["blocking"] else "advisory"

    expected = Counter((r["gate"], f["rule"], f["severity"], status(f)) for r in report["results"]
                       for f in r["findings"])
    assert _by(samples["gates_findings"], "gate", "rule", "severity", "status") == expected
    assert sum(expected.values()) == report["summary"]["findings"] >= 5
    [(_, duration)] = samples["gates_run_duration_seconds"]
    assert 0 < duration < 60
    [(_, when)] = samples["gates_run_timestamp_seconds"]
    assert abs(when - dt.datetime.fromisoformat(report["generated"]).timestamp()) < 1
    assert samples["gates_internal_errors"] == [({}, 0)]


def test_statuses_zeros_and_label_escaping(tmp_path: Path) -> None:
    base = hand_report(tmp_path)
    odd = 'we"ird\\gate, name'  # a quote, a backslash
    report = dataclasses.replace(base, gates=(*base.gates, "signature", odd), duration=1.5,
                                 results=(*base.results, Result(odd, "x", Outcome.PASSED)))
    samples = _samples(renderer(Format.OPENMETRICS)(report, context(tmp_path)))
    results = _by(samples["gates_results"], "gate", "outcome")
    assert results["signature", "passed"] == results["signature", "error"] == 0  # every series, zeros too
    assert results[odd, "passed"] == 1  # the label value came back exactly
    findings = _by(samples["gates_findings"], "rule", "severity", "status")
    assert findings == {("pss-privileged", "critical", "blocking"): 1, ("pss-host-path", "high", "blocking"): 2,
                        ("pss-seccomp-restricted", "medium", "advisory"): 1,
                        ("pss-run-as-non-root", "high", "waived"): 1, ("pss-privileged", "high", "blocking"): 1}
    assert samples["gates_run_duration_seconds"] == [({}, 1.5)]
    assert _by(samples["gates_run_outcome"], "outcome", "fail_on", "version") == {
        ("passed", "high", "9.9.9"): 0, ("failed", "high", "9.9.9"): 0, ("error", "high", "9.9.9"): 1}


def test_a_run_with_no_gate_is_still_valid(tmp_path: Path) -> None:
    samples = _samples(renderer(Format.OPENMETRICS)(Report(results=(), fail_on=Severity.LOW), context(tmp_path)))
    assert samples["gates_results"] == [] and samples["gates_findings"] == []
    assert "gates_run_duration_seconds" not in samples  # not measured, so not made up
