"""OpenMetrics text exposition: a run's results as metrics a Pushgateway or a CI metrics collector ingests.

Each family is a gauge of this one run (a push replaces the previous one), so counts are never
`_total` counters. Results are written for every gate and outcome, zeros included, so a dashboard sees
a gate go from 3 failed to 0 rather than the series vanish; findings only for the (rule, severity,
status) that occurred, as a run's rules times severities would be thousands of zeros. Label values
are gates' own (gate names, rule IDs, severities, outcomes): no scanned text becomes a label, which
also keeps the label set bounded. Only gauges are used, so the text is also valid in Prometheus' older
text format (0.0.4), which is what a Pushgateway takes: there `# UNIT` and `# EOF` are comments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gates.model import Finding, Outcome, Report, blocks
from gates.reporters import RenderContext

_STATUSES = ("blocking", "advisory", "waived", "baselined")


def _label(value: str) -> str:
    """A label value as the exposition format escapes it (backslash, double quote, line feed)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample(name: str, labels: dict[str, str], value: float | int) -> str:
    pairs = ",".join(f'{key}="{_label(text)}"' for key, text in labels.items())
    return f"{name}{{{pairs}}} {value}" if pairs else f"{name} {value}"


def _family(name: str, kind: str, help_text: str, samples: Iterable[str], unit: str | None = None) -> list[str]:
    head = [f"# TYPE {name} {kind}"] + ([f"# UNIT {name} {unit}"] if unit else []) + [f"# HELP {name} {help_text}"]
    return head + list(samples)


def _status(finding: Finding, report: Report) -> str:
    if finding.waiver is not None:
        return "waived"
    if finding.baselined:
        return "baselined"
    return "blocking" if blocks(finding, report.fail_on) else "advisory"


def render(report: Report, context: RenderContext) -> str:
    gates = list(dict.fromkeys([*report.gates, *(r.gate for r in report.results)]))
    results = Counter((r.gate, r.outcome) for r in report.results)
    findings = Counter((r.gate, f.rule, f.severity.value, _status(f, report)) for r in report.results
                       for f in r.findings)
    run = {"version": context.version, "fail_on": report.fail_on.value}
    lines = _family("gates_run_outcome", "gauge", "The run's outcome: 1 for the one it had, 0 for the others.",
                    [_sample("gates_run_outcome", {"outcome": outcome.value, **run},
                             int(report.outcome is outcome))
                     for outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR)])
    lines += _family("gates_run_timestamp_seconds", "gauge", "When the report was made, in Unix time.",
                     [_sample("gates_run_timestamp_seconds", {}, round(report.generated.timestamp(), 3))],
                     unit="seconds")
    if report.duration is not None:
        lines += _family("gates_run_duration_seconds", "gauge",
                         "How long the gates took, from the first one's start to the last one's end.",
                         [_sample("gates_run_duration_seconds", {}, round(report.duration, 6))], unit="seconds")
    lines += _family("gates_results", "gauge", "Results (targets judged) by gate and outcome.",
                     [_sample("gates_results", {"gate": gate, "outcome": outcome.value}, results[gate, outcome])
                      for gate in gates for outcome in Outcome])
    lines += _family("gates_findings", "gauge",
                     "Findings by gate, rule, severity and status (blocking, advisory below fail-on, waived,"
                     " baselined).",
                     [_sample("gates_findings", {"gate": gate, "rule": rule, "severity": severity, "status": status},
                              count)
                      for (gate, rule, severity, status), count in sorted(
                          findings.items(), key=lambda item: (gates.index(item[0][0]), *item[0][1:3],
                                                              _STATUSES.index(item[0][3])))])
    lines += _family("gates_internal_errors", "gauge", "Bugs caught while running a gate (the run exits 3).",
                     [_sample("gates_internal_errors", {}, len(report.internal_errors))])
    return "\n".join([*lines, "# EOF"]) + "\n"
