"""Human output for a terminal or a pipeline log: problems first, one line each, then a summary."""

from __future__ import annotations

from collections import Counter

from gates.model import Finding, Outcome, Report, Result, blocks
from gates.reporters import RenderContext

_COLORS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1", "magenta": "35", "cyan": "36"}
_SEVERITY_COLOR = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_MARK = {Outcome.PASSED: ("✓", "green"), Outcome.FAILED: ("✗", "red"), Outcome.ERROR: ("!", "red"),
         Outcome.SKIPPED: ("-", "dim")}


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, color: str) -> str:
        if not self.enabled:
            return text
        return f"\033[{_COLORS[color]}m{text}\033[0m"


def _finding(finding: Finding, report: Report, paint: _Painter) -> str:
    severity = paint(f"{finding.severity.value:<8}", _SEVERITY_COLOR[finding.severity.value])
    head = f"    {finding.location}  {severity} {finding.rule}  {finding.message}"
    if finding.waiver is not None:
        until = f" until {finding.waiver.expires}" if finding.waiver.expires else ""
        head = paint(f"    waived{until}: ", "dim") + head.strip() + paint(f"  ({finding.waiver.reason})", "dim")
        head = "  " + head
    elif not blocks(finding, report.fail_on):
        head += paint(f"  (advisory: below fail-on {report.fail_on.value})", "dim")
    lines = [head]
    lines += [paint(f"      note: {note}", "yellow") for note in finding.notes]
    return "\n".join(lines)


def _result(result: Result, report: Report, paint: _Painter, verbose: bool) -> list[str]:
    mark, color = _MARK[result.outcome]
    if result.outcome is Outcome.PASSED and not result.findings and not result.details and not verbose:
        return []
    lines = [f"{paint(mark, color)} {paint(result.target, 'bold')}"]
    lines += [paint(f"    {detail}", "dim") for detail in result.details]
    if result.error:
        label = "error" if result.outcome is Outcome.ERROR else "skipped"
        lines.append(f"    {paint(label, color)}: {result.error}")
    ordered = sorted(result.findings, key=lambda f: (f.waiver is not None, -f.severity.rank, f.location.line or 0))
    lines += [_finding(f, report, paint) for f in ordered]
    return lines


def render(report: Report, context: RenderContext) -> str:
    paint = _Painter(context.color)
    lines: list[str] = []
    order = {Outcome.ERROR: 0, Outcome.FAILED: 1, Outcome.SKIPPED: 2, Outcome.PASSED: 3}
    for result in sorted(report.results, key=lambda r: order[r.outcome]):
        lines += _result(result, report, paint, context.verbose)
    if lines:
        lines.append("")
    for gate in report.gates:
        results = [r for r in report.results if r.gate == gate]
        counts = Counter(r.outcome for r in results)
        findings = [f for r in results for f in r.findings]
        parts = [f"{counts[o]} {o.value}" for o in Outcome if counts[o]] or ["nothing to check"]
        waived = sum(1 for f in findings if f.waiver is not None)
        extra = f" · {len(findings)} findings" + (f" ({waived} waived)" if waived else "") if findings else ""
        lines.append(f"{paint(gate, 'bold')}: {', '.join(parts)}{extra}")
    for problem in report.internal_errors:
        lines.append(paint(f"internal error: {problem}", "red"))
    verdict = {Outcome.PASSED: ("PASSED", "green"), Outcome.FAILED: ("FAILED", "red"),
               Outcome.ERROR: ("ERROR: a gate could not decide", "red")}[report.outcome]
    lines.append(paint(verdict[0], verdict[1]))
    return "\n".join(lines) + "\n"
