"""The engine decides outcomes: waivers first, then fail-on; errors and skips keep their outcome."""

from __future__ import annotations

import datetime as dt

from gates.engine import GateJob, decide, run
from gates.model import Finding, Location, Outcome, Result, Severity
from gates.waivers import WaiverRule

TODAY = dt.date(2026, 11, 24)


def _finding(rule: str, severity: Severity) -> Finding:
    return Finding(rule=rule, severity=severity, message="m", location=Location("f.yaml", 1, 1), resource="Pod/p")


def test_fail_on_and_waivers_decide_the_outcome() -> None:
    raw = Result("manifests", "t", Outcome.FAILED, (_finding("a", Severity.LOW), _finding("b", Severity.HIGH)))
    assert decide(raw, (), Severity.LOW, TODAY).outcome is Outcome.FAILED
    assert decide(raw, (), Severity.CRITICAL, TODAY).outcome is Outcome.PASSED
    waiver = WaiverRule(rule="b", reason="accepted", source="gates.toml waivers[1]")
    assert decide(raw, (waiver,), Severity.MEDIUM, TODAY).outcome is Outcome.PASSED
    assert decide(raw, (waiver,), Severity.LOW, TODAY).outcome is Outcome.FAILED


def test_error_results_stay_errors_but_their_findings_are_marked() -> None:
    raw = Result("base-image", "img", Outcome.ERROR, (_finding("x", Severity.HIGH),), error="registry down")
    waiver = WaiverRule(rule="x", reason="known", source="gates.toml waivers[1]")
    decided = decide(raw, (waiver,), Severity.LOW, TODAY)
    assert decided.outcome is Outcome.ERROR and decided.error == "registry down"
    assert decided.findings[0].waiver is not None


def test_a_crashing_gate_does_not_stop_the_others() -> None:
    def boom() -> list[Result]:
        raise ZeroDivisionError("bug")

    ok = Result("other", "t", Outcome.PASSED)
    report = run([GateJob("broken", boom), GateJob("other", lambda: [ok])], today=TODAY)
    assert [r.outcome for r in report.results] == [Outcome.ERROR, Outcome.PASSED]
    assert report.internal_errors and "ZeroDivisionError" in report.internal_errors[0]
    assert report.outcome is Outcome.ERROR


def test_a_gate_that_checked_nothing_is_an_error() -> None:
    skipped = Result("manifests", "chart/templates", Outcome.SKIPPED, error="render it first")
    report = run([GateJob("manifests", lambda: [skipped])], today=TODAY)
    assert report.outcome is Outcome.ERROR
    assert report.results[-1].error == "the manifests gate checked nothing: its only target was skipped"
    two = run([GateJob("manifests", lambda: [skipped, skipped])], today=TODAY)
    assert two.results[-1].error == "the manifests gate checked nothing: all 2 of its targets were skipped"
    empty = run([GateJob("signature", lambda: [])], today=TODAY)
    assert empty.outcome is Outcome.ERROR and empty.results[0].error is not None
    assert "found no target" in empty.results[0].error
    mixed = run([GateJob("manifests", lambda: [skipped, Result("manifests", "ok", Outcome.PASSED)])], today=TODAY)
    assert mixed.outcome is Outcome.PASSED
