"""GitHub: annotations the runner parses back to the original text, and a complete, bounded summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gates.model import Finding, Location, Outcome, Report, Result, Severity
from gates.reporters import Format, renderer
from gates.reporters.github import SUMMARY_LIMIT, auto_emit, escape_data, escape_property, summary
from tests.reporters.conftest import context, hand_report, manifest_report


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """What the Actions runner does with a `::command props::data` line (ActionCommand.TryParseV2)."""
    assert line.startswith("::")
    head, sep, data = line[2:].partition("::")
    assert sep, line
    command, _, props_text = head.partition(" ")
    props: dict[str, str] = {}
    for pair in filter(None, props_text.split(",")):
        key, _, value = pair.partition("=")
        props[key] = (value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":")
                      .replace("%2C", ",").replace("%25", "%"))
    return command, props, data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_escaping_round_trips_through_the_runner_parser() -> None:
    nasty = "100% done: a,b\r\nnext ::error::x %0A"
    line = f"::error file=a.yaml,title={escape_property(nasty)}::{escape_data(nasty)}"
    assert "\n" not in line and "\r" not in line
    command, props, data = parse_command(line)
    assert (command, props["title"], props["file"], data) == ("error", nasty, "a.yaml", nasty)


def test_annotations_for_blocking_advisory_and_undecided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = renderer(Format.GITHUB)(hand_report(tmp_path), context(tmp_path))
    lines = text.splitlines()
    parsed = [parse_command(line) for line in lines]
    assert all(line.startswith("::") for line in lines)  # the injected "::error::" stayed inside one line
    errors = [p for p in parsed if p[0] == "error"]
    warnings = [p for p in parsed if p[0] == "warning"]
    assert len(warnings) == 1 and "seccomp" in warnings[0][2]  # advisory (below fail-on high)
    undecided = next(p for p in errors if "could not decide" in p[1]["title"])
    assert undecided[1]["file"] == "k8s/broken.yaml"
    tricky = [p for p in errors if p[1].get("line") == "20"]
    # the runner gets the text back exactly as cleaned: the line feed of scanned text shown as `\n`
    assert tricky and tricky[0][2].startswith("50% of volumes: a,b\\nsecond line ::error::injected")
    assert tricky[0][1]["col"] == "3" and tricky[0][1]["title"].startswith("pss-host-path (high): ")
    image = next(p for p in errors if "not signed" in p[2])
    assert "file" not in image[1] and image[2].startswith("ghcr.io/acme/app:1.0: ")
    assert not any("must run as non-root" in p[2] for p in parsed)  # waived: summary only
    # blocking ones come first, so the 10 the runner shows are the ones that matter
    assert [p[0] for p in parsed] == sorted((p[0] for p in parsed), key=lambda c: c != "error")


def test_annotations_put_the_worst_blocking_findings_first(tmp_path: Path) -> None:
    """76 findings in file order with the only critical one last: it must be the first annotation."""
    severities = [Severity.HIGH] * 40 + [Severity.LOW] * 20 + [Severity.MEDIUM] * 15 + [Severity.CRITICAL]
    findings = tuple(Finding("pss-privileged", severity, f"finding {i}", Location(f"k8s/f{i:02}.yaml", 1, 1))
                     for i, severity in enumerate(severities))
    report = Report(results=(Result("manifests", "k8s", Outcome.FAILED, findings),
                             Result("manifests", "k8s/bad.yaml", Outcome.ERROR, error="invalid YAML")),
                    gates=("manifests",), fail_on=Severity.MEDIUM)
    parsed = [parse_command(line) for line in renderer(Format.GITHUB)(report, context(tmp_path)).splitlines()]
    titles = [props["title"] for _, props, _ in parsed]
    assert titles[0] == "pss-privileged (critical): Privileged containers are not allowed"
    order = [(level, title.split(" ")[1].strip("():") if title.startswith("pss-") else "undecided")
             for level, title in zip([p[0] for p in parsed], titles, strict=True)]
    assert order == ([("error", "critical")] + [("error", "high")] * 40 + [("error", "medium")] * 15
                     + [("error", "undecided")] + [("warning", "low")] * 20)
    highs = [data for (level, _, data), title in zip(parsed, titles, strict=True) if "(high)" in title]
    assert highs == [f"k8s/f{i:02}.yaml:1:1: finding {i}" for i in range(40)]  # one severity keeps file order


def test_summary_lists_every_finding(project: Path) -> None:
    report = manifest_report()
    text = summary(report, context(project))
    findings = [f for r in report.results for f in r.findings]
    assert len(findings) >= 6
    for finding in findings:
        assert f"`{finding.rule}` | `{finding.location}`" in text
    assert "k8s/broken.yaml" in text and "Could not decide" in text
    assert text.startswith("## ⚠️ gates: error")


def test_summary_cells_cannot_break_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = summary(hand_report(tmp_path), context(tmp_path))
    row = next(line for line in text.splitlines() if "50% of volumes" in line)
    assert row.count(" | ") == 5  # six cells: the newline and pipes in the message did not split it
    assert "waived until 2031-01-01: `legacy image, tracked in JIRA-1`" in text  # the reason is scanned text


def _big_report(count: int) -> Report:
    findings = tuple(
        Finding("pss-privileged", Severity.HIGH, "x" * 400 + f" #{i}", Location(f"k8s/f{i}.yaml", i + 1, 3),
                resource=f"Deployment/prod/w{i}")
        for i in range(count)
    )
    return Report(results=(Result("manifests", "k8s", Outcome.FAILED, findings),), gates=("manifests",))


def test_summary_stays_under_the_limit_and_still_lists_all(tmp_path: Path) -> None:
    report = _big_report(4000)  # about 2 MB if rendered in full
    text = summary(report, context(tmp_path))
    assert len(text.encode()) <= SUMMARY_LIMIT
    assert all(f"`k8s/f{i}.yaml:{i + 1}:3`" in text for i in range(4000))
    assert "did not fit" not in text


def test_summary_says_what_it_left_out(tmp_path: Path) -> None:
    text = summary(_big_report(2000), context(tmp_path), limit=50_000)
    assert len(text.encode()) <= 50_000
    shown = sum(1 for line in text.splitlines() if line.startswith("| high |"))
    assert 0 < shown < 2000
    assert f"_{2000 - shown} more findings did not fit" in text


def test_summary_left_out_count_in_the_singular(tmp_path: Path) -> None:
    report = _big_report(30)
    size = len(summary(report, context(tmp_path)).encode())
    text = next(t for t in (summary(report, context(tmp_path), limit=n) for n in range(size, 0, -20))
                if "did not fit" in t)  # the largest limit that leaves a row out leaves out one
    assert "_1 more finding did not fit" in text


def test_auto_emit_only_under_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    auto_emit(hand_report(tmp_path), context(tmp_path), ("console",), out, err, {})
    auto_emit(hand_report(tmp_path), context(tmp_path), ("console",), out, err,
              {"GITHUB_ACTIONS": "true", "GATES_GITHUB": "false"})
    assert out.getvalue() == err.getvalue() == ""


def test_auto_emit_appends_summary_and_keeps_documents_clean(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    step_summary = tmp_path / "summary.md"
    step_summary.write_text("earlier step\n", encoding="utf-8")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary), "GITHUB_WORKSPACE": str(tmp_path)}
    out, err = io.StringIO(), io.StringIO()
    auto_emit(hand_report(tmp_path), context(tmp_path), ("json",), out, err, env)
    assert out.getvalue() == ""  # stdout holds a JSON document: annotations went to stderr
    assert err.getvalue().startswith("::error ")
    text = step_summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## ")
    out2 = io.StringIO()
    auto_emit(hand_report(tmp_path), context(tmp_path), ("github",), out2, err, env)
    assert out2.getvalue() == ""  # --format github already printed them


def test_cli_under_actions(project: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    from gates.cli import main

    step_summary = project / "summary.md"
    for name, value in {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary),
                        "GITHUB_WORKSPACE": str(project), "NO_COLOR": "1"}.items():
        monkeypatch.setenv(name, value)
    code = main(["manifests", "k8s", "--format", "json", "--output", "sarif=out/gates.sarif"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["outcome"] == "error"
    assert "::error file=k8s/deploy.yaml,line=14,col=13,title=pss-privileged" in captured.err
    assert "| critical | `pss-privileged` |" in step_summary.read_text(encoding="utf-8")
    assert json.loads((project / "out" / "gates.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
