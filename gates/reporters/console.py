"""Human output for a terminal or a pipeline log: one block per gate, then one summary table.

Each gate's block starts with a header naming the gate and its counts; its targets follow in a
stable order (by where they live, not by when a worker finished), a passing target only with
`--verbose`. A finding is one line with its columns aligned within the block, then a `fix:` line
from its rule's remediation (the first sentence; whole with `--verbose`). An image reference is
printed once per finding, as the target, not again as its location; an error line keeps naming its
file or image, so it still says what is wrong on its own when a log is searched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gates.model import NEW, Finding, Outcome, Report, Result, blocks
from gates.reporters import RenderContext
from gates.wording import counted

_COLORS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1", "magenta": "35", "cyan": "36"}
_SEVERITY_COLOR = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_MARK = {Outcome.PASSED: ("✓", "green"), Outcome.FAILED: ("✗", "red"), Outcome.ERROR: ("!", "red"),
         Outcome.SKIPPED: ("-", "dim")}
_SEVERITY_WIDTH = 8  # "critical"
_FIX_LIMIT = 100
"""Characters of remediation a `fix:` line shows without `--verbose`."""


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, color: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\033[{_COLORS[color]}m{text}\033[0m"


def short_fix(remediation: str, rule: str, limit: int = _FIX_LIMIT) -> str:
    """The first sentence of a remediation, at most `limit` characters; where to read the rest if cut."""
    text = " ".join(remediation.split())
    end = text.find(". ")
    first = text[: end + 1] if end >= 0 else text
    if len(first) > limit:
        cut = first.rfind(" ", 0, limit)
        first = first[: cut if cut > 0 else limit].rstrip(",;:") + "…"
    return first if first == text else f"{first} (gates explain {rule})"


def _shown_location(finding: Finding, result: Result) -> str:
    """The finding's location, or nothing where it only repeats the target (an image reference)."""
    location = finding.location
    return "" if location.line is None and location.path == result.target else str(location)


def _status(finding: Finding, report: Report) -> str:
    if finding.waiver is not None:
        until = f" until {finding.waiver.expires}" if finding.waiver.expires else ""
        return f"  (waived{until}: {finding.waiver.reason})"
    if finding.baselined and finding.baseline is not None:
        return f"  (baselined since {finding.baseline.since})"
    if finding.baseline is not None and finding.baseline.state == NEW:
        return "  (new: not in the baseline)"
    if not blocks(finding, report.fail_on):
        return f"  (advisory: below fail-on {report.fail_on.value})"
    return ""


class _Fixes:
    """The `fix:` text of each rule, worked out once per run (a run can hold 100,000 findings)."""

    def __init__(self, context: RenderContext) -> None:
        self.context = context
        self.known: dict[str, str | None] = {}

    def __call__(self, rule_id: str) -> str | None:
        if rule_id not in self.known:
            rule = self.context.rules.get(rule_id)
            text = rule.remediation if rule is not None else ""
            self.known[rule_id] = None if not text else \
                " ".join(text.split()) if self.context.verbose else short_fix(text, rule_id)
        return self.known[rule_id]


def _findings(result: Result, report: Report, fixes: _Fixes, paint: _Painter) -> list[str]:
    ordered = sorted(result.findings, key=lambda f: (f.waiver is not None, -f.severity.rank,
                                                     f.location.path, f.location.line or 0, f.location.column or 0))
    locations = [_shown_location(f, result) for f in ordered]
    location_width = max(map(len, locations), default=0)
    rule_width = max((len(f.rule) for f in ordered), default=0)
    lines: list[str] = []
    for finding, location in zip(ordered, locations, strict=True):
        severity = paint(f"{finding.severity.value:<{_SEVERITY_WIDTH}}", _SEVERITY_COLOR[finding.severity.value])
        columns = f"{location:<{location_width}}  " if location_width else ""
        status = _status(finding, report)
        line = f"    {columns}{severity} {finding.rule:<{rule_width}}  {finding.message}"
        lines.append(paint(line + status, "dim") if finding.waiver is not None else line + paint(status, "dim"))
        lines += [paint(f"      note: {note}", "yellow") for note in finding.notes]
        fix = fixes(finding.rule) if finding.waiver is None else None
        if fix:
            lines.append(paint(f"      fix: {fix}", "green"))
    return lines


def _result(result: Result, report: Report, fixes: _Fixes, paint: _Painter) -> list[str]:
    mark, color = _MARK[result.outcome]
    if result.outcome is Outcome.PASSED and not result.findings and not result.details and not fixes.context.verbose:
        return []
    lines = [f"{paint(mark, color)} {paint(result.target, 'bold')}"]
    lines += [paint(f"    {detail}", "dim") for detail in result.details]
    if result.error:
        label = "error" if result.outcome is Outcome.ERROR else "skipped"
        lines.append(f"    {paint(label, color)}: {result.error}")
    return lines + _findings(result, report, fixes, paint)


def _target_order(result: Result) -> tuple[str, int, int, str]:
    location = result.location
    if location is None:
        return (result.target, 0, 0, result.target)
    return (location.path, location.line or 0, location.column or 0, result.target)


def _outcome_counts(results: Sequence[Result]) -> str:
    counts = Counter(r.outcome for r in results)
    words = {Outcome.FAILED: f"{counts[Outcome.FAILED]} failed",
             Outcome.ERROR: counted(counts[Outcome.ERROR], "error"),
             Outcome.SKIPPED: f"{counts[Outcome.SKIPPED]} skipped",
             Outcome.PASSED: f"{counts[Outcome.PASSED]} passed"}
    return ", ".join(words[o] for o in (Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED, Outcome.PASSED)
                     if counts[o]) or "nothing to check"


def _header(gate: str, results: Sequence[Result], paint: _Painter) -> str:
    findings = [f for r in results for f in r.findings]
    waived = sum(1 for f in findings if f.waiver is not None)
    baselined = sum(1 for f in findings if f.baselined)
    kinds = ", ".join(part for part in (f"{waived} waived" if waived else "",
                                        f"{baselined} baselined" if baselined else "") if part)
    extra = f" · {counted(len(findings), 'finding')}" + (f" ({kinds})" if kinds else "") if findings else ""
    return f"{paint(gate, 'bold')}: {_outcome_counts(results)}{extra}"


_TABLE_HEAD = ("gate", "passed", "failed", "errors", "skipped", "findings", "blocking", "waived")


def _table(report: Report, gates: Sequence[str], paint: _Painter) -> list[str]:
    with_baseline = any(f.baseline is not None for r in report.results for f in r.findings)
    head = (*_TABLE_HEAD, "baselined") if with_baseline else _TABLE_HEAD
    rows: list[tuple[str, ...]] = []
    for gate in gates:
        results = [r for r in report.results if r.gate == gate]
        counts = Counter(r.outcome for r in results)
        findings = [f for r in results for f in r.findings]
        rows.append((gate, *(str(counts[o]) for o in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED)),
                     str(len(findings)), str(sum(1 for f in findings if blocks(f, report.fail_on))),
                     str(sum(1 for f in findings if f.waiver is not None)),
                     *((str(sum(1 for f in findings if f.baselined)),) if with_baseline else ())))
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join([cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])

    return [paint(line(head), "bold")] + [line(row) for row in rows]


def render(report: Report, context: RenderContext) -> str:
    paint = _Painter(context.color)
    gates = list(dict.fromkeys([*report.gates, *(r.gate for r in report.results)]))
    lines: list[str] = []
    fixes = _Fixes(context)
    for gate in gates:
        results = sorted((r for r in report.results if r.gate == gate), key=_target_order)
        lines.append(_header(gate, results, paint))
        for result in results:
            lines += _result(result, report, fixes, paint)
        lines.append("")
    if gates:
        lines += [*_table(report, gates, paint), ""]
    if report.baseline_absent:
        gone = counted(len(report.baseline_absent), "entry", "entries")
        lines += [paint(f"baseline: {gone} no longer found (fixed, or gone): `gates baseline write` drops them", "dim"),
                  ""]
    for problem in report.internal_errors:
        lines.append(paint(f"internal error: {problem}", "red"))
    verdict = {Outcome.PASSED: ("PASSED", "green"), Outcome.FAILED: ("FAILED", "red"),
               Outcome.ERROR: ("ERROR: a gate could not decide", "red")}[report.outcome]
    lines.append(paint(verdict[0], verdict[1]))
    return "\n".join(lines) + "\n"
