"""JUnit XML that GitLab and GitHub test reporters render well.

One testsuite per gate; one testcase per (rule, target) with a unique name; `classname`, `file` and
`line` set; the message in the element body (GitLab ignores `failure@message`); `<failure>` for
violations, `<error>` for targets the gate could not decide, `<skipped>` for waived and baselined
findings and skipped targets; passing targets appear as passing testcases.
"""

from __future__ import annotations

from collections import defaultdict

from gates.model import Finding, Outcome, Report, Result, blocks
from gates.reporters import RenderContext


def _finding_line(finding: Finding) -> str:
    where = f"{finding.location}"
    container = f" [container {finding.container}]" if finding.container else ""
    text = f"{where}: {finding.severity.value}: {finding.message}{container}"
    if finding.waiver is not None:
        until = f", until {finding.waiver.expires}" if finding.waiver.expires else ""
        text += f" (waived by {finding.waiver.source}: {finding.waiver.reason}{until})"
    elif finding.baseline is not None:
        text += f" (baselined since {finding.baseline.since})" if finding.baselined else \
            f" ({finding.baseline.state}: not in the baseline)" if finding.baseline.since is None else ""
    for note in finding.notes:
        text += f" ({note})"
    return text


def _cases(result: Result, report: Report) -> list[object]:
    from junit_xml import TestCase

    location = result.location
    file = location.path if location else None
    if result.outcome in (Outcome.ERROR, Outcome.SKIPPED) or not result.findings:
        case = TestCase(name=result.target, classname=result.gate, file=file,
                        line=location.line if location else None)
        if result.outcome is Outcome.ERROR:
            case.add_error_info(message=result.error, output=result.error)
        elif result.outcome is Outcome.SKIPPED:
            case.add_skipped_info(message=result.error, output=result.error)
        return [case]
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_rule[finding.rule].append(finding)
    cases: list[object] = []
    for rule, findings in by_rule.items():
        first = findings[0].location
        case = TestCase(name=f"{rule}: {result.target}", classname=f"{result.gate}.{rule}", file=first.path,
                        line=first.line)
        body = "\n".join(_finding_line(f) for f in findings)
        if any(blocks(f, report.fail_on) for f in findings):
            case.add_failure_info(message=findings[0].message, output=body, failure_type=rule)
        elif all(f.waiver is not None for f in findings):
            case.add_skipped_info(message=f"waived: {findings[0].waiver.reason if findings[0].waiver else ''}",
                                  output=body)
        elif all(f.waiver is not None or f.baselined for f in findings):
            since = min(f.baseline.since for f in findings if f.baseline is not None and f.baseline.since)
            case.add_skipped_info(message=f"baselined since {since}: accepted for now, not blocking", output=body)
        else:
            case.stdout = body  # advisory: below the fail-on threshold
        cases.append(case)
    return cases


def render(report: Report, context: RenderContext) -> str:
    import xml.etree.ElementTree as ET

    from junit_xml import TestSuite

    root = ET.Element("testsuites", name="gates")
    totals = dict.fromkeys(("tests", "failures", "errors"), 0)
    for gate in report.gates or tuple(dict.fromkeys(r.gate for r in report.results)):
        cases = [c for r in report.results if r.gate == gate for c in _cases(r, report)]
        suite = TestSuite(name=f"gates {gate}", test_cases=cases, timestamp=report.generated.isoformat())
        element = suite.build_xml_doc()
        element.attrib.pop("disabled", None)  # not in the Surefire schema that GitLab and Jenkins follow
        for key in totals:
            totals[key] += int(element.get(key, "0"))
        root.append(element)
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
