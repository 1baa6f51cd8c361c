"""The console report: one block per gate, targets in a stable order, aligned columns, a fix per finding."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from gates.checks import all_rules
from gates.model import Finding, Location, Outcome, Report, Result, Severity, Waiver, error_result
from gates.reporters import Format, renderer
from gates.reporters.console import short_fix
from tests.reporters.conftest import context, manifest_report

ONE = "ghcr.io/acme/one:1.0"
TWO = "ghcr.io/acme/two:2.0"


def _image_finding(rule: str, image: str, message: str) -> Finding:
    return Finding(rule, Severity.HIGH, message, Location(image), resource=image)


def _mixed_report() -> Report:
    """Results as concurrent gates hand them over: gates interleaved, one image in two gates."""
    deploy = Finding("pss-privileged", Severity.CRITICAL, "privileged", Location("k8s/a.yaml", 9, 7),
                     resource="Deployment/prod/web")
    return Report(
        results=(
            Result("signature", TWO, Outcome.FAILED, (_image_finding("signature-missing", TWO, "no signature"),),
                   location=Location(TWO)),
            Result("manifests", "k8s/b.yaml#Pod/default/ok", Outcome.PASSED, location=Location("k8s/b.yaml", 1, 1)),
            Result("base-image", ONE, Outcome.FAILED,
                   (_image_finding("base-image-age", ONE, "built 400 days ago"),), location=Location(ONE)),
            error_result("signature", ONE, f"{ONE}: registry unreachable", Location(ONE)),
            Result("manifests", "k8s/a.yaml#Deployment/prod/web", Outcome.FAILED, (deploy,),
                   location=Location("k8s/a.yaml", 1, 1)),
        ),
        gates=("manifests", "signature", "base-image"),
        fail_on=Severity.LOW,
    )


def _blocks(text: str, gates: tuple[str, ...]) -> dict[str, list[str]]:
    """The lines under each gate's header, up to the next header or the summary table."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        gate = line.split(":", 1)[0]
        if gate in gates and gate not in blocks:
            current = blocks[gate] = []
        elif line.startswith("gate ") or not line:
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_output_is_grouped_by_gate_with_one_summary_table(tmp_path: Path) -> None:
    report = _mixed_report()
    text = renderer(Format.CONSOLE)(report, context(tmp_path))
    lines = text.splitlines()
    headers = [line for line in lines if line.split(":", 1)[0] in report.gates]
    assert headers == ["manifests: 1 failed, 1 passed · 1 finding",
                       "signature: 1 failed, 1 error · 1 finding",
                       "base-image: 1 failed · 1 finding"]
    blocks = _blocks(text, report.gates)
    assert [line for line in blocks["signature"] if not line.startswith(" ")] == [f"! {ONE}", f"✗ {TWO}"]
    assert [line for line in blocks["base-image"] if not line.startswith(" ")] == [f"✗ {ONE}"]
    # a finding of an image names it once, as its target; an error line still names what it is about
    assert sum(line.count(TWO) for line in blocks["signature"]) == 1, blocks["signature"]
    assert sum(line.count(ONE) for line in blocks["base-image"]) == 1, blocks["base-image"]
    assert f"    error: {ONE}: registry unreachable" in blocks["signature"]
    tables = [i for i, line in enumerate(lines) if line.split() == ["gate", "passed", "failed", "errors", "skipped",
                                                                    "findings", "blocking", "waived"]]
    assert len(tables) == 1
    rows = [line.split() for line in lines[tables[0] + 1: tables[0] + 4]]
    assert rows == [["manifests", "1", "1", "0", "0", "1", "1", "0"],
                    ["signature", "0", "1", "1", "0", "1", "1", "0"],
                    ["base-image", "0", "1", "0", "0", "1", "1", "0"]]
    assert lines[-1] == "ERROR: a gate could not decide"


def test_targets_come_in_the_same_order_whatever_order_the_gates_finished_in(tmp_path: Path) -> None:
    report = _mixed_report()
    backwards = dataclasses.replace(report, results=report.results[::-1])
    verbose = dataclasses.replace(context(tmp_path), verbose=True)
    assert renderer(Format.CONSOLE)(report, verbose) == renderer(Format.CONSOLE)(backwards, verbose)


def test_the_location_column_is_aligned_within_a_block(tmp_path: Path) -> None:
    findings = tuple(Finding(rule, Severity.HIGH, f"message {i}", Location("k8s/a.yaml", line, column))
                     for i, (rule, line, column) in enumerate([("pss-privileged", 3, 5), ("pss-host-path", 120, 17),
                                                               ("k8s-image-latest", 45, 9)]))
    report = Report(results=(Result("manifests", "k8s/a.yaml#Pod/x", Outcome.FAILED, findings),),
                    gates=("manifests",))
    text = renderer(Format.CONSOLE)(report, context(tmp_path))
    rows = [line for line in text.splitlines() if "message " in line]
    assert len(rows) == 3
    assert len({row.index("high") for row in rows}) == 1  # the severity column starts at one offset
    assert len({row.index("message") for row in rows}) == 1  # and so does the message, past the rule


def test_every_finding_ends_with_a_fix_line_from_its_rule(project: Path) -> None:
    report = manifest_report()
    rules = all_rules()
    lines = renderer(Format.CONSOLE)(report, context(project)).splitlines()
    active = [f for r in report.results for f in r.active_findings]
    assert len(active) >= 5
    for finding in active:
        at = next(i for i, line in enumerate(lines) if finding.message in line and finding.rule in line)
        follow = [line.strip() for line in lines[at + 1: at + 2 + len(finding.notes)]]
        assert follow[-1] == f"fix: {short_fix(rules[finding.rule].remediation, finding.rule)}", finding


def test_fix_is_short_and_verbose_shows_it_whole(tmp_path: Path) -> None:
    rule = all_rules()["pss-sysctls"]
    assert len(rule.remediation) > 200
    finding = Finding(rule.id, Severity.MEDIUM, "unsafe sysctl", Location("k8s/a.yaml", 4, 3))
    waived = Finding("pss-privileged", Severity.CRITICAL, "privileged", Location("k8s/a.yaml", 5, 3),
                     waiver=Waiver("accepted risk", "gates.toml waivers[1]"))
    report = Report(results=(Result("manifests", "k8s/a.yaml#Pod/x", Outcome.FAILED, (finding, waived)),),
                    gates=("manifests",))
    short = renderer(Format.CONSOLE)(report, context(tmp_path))
    fixes = [line.strip() for line in short.splitlines() if line.strip().startswith("fix: ")]
    assert len(fixes) == 1  # a waived finding needs no fix
    assert len(fixes[0]) <= 140 and fixes[0].endswith(f"(gates explain {rule.id})")
    assert rule.remediation.startswith(fixes[0][len("fix: "):].split("…")[0].split(" (gates explain")[0])
    whole = renderer(Format.CONSOLE)(report, dataclasses.replace(context(tmp_path), verbose=True))
    assert f"fix: {' '.join(rule.remediation.split())}" in [line.strip() for line in whole.splitlines()]


def test_short_fix_keeps_a_short_sentence_whole() -> None:
    assert short_fix("Pin the image by digest.", "r") == "Pin the image by digest."
    assert short_fix("Pin it. Then sign it.", "r") == "Pin it. (gates explain r)"
    cut = short_fix("word " * 60, "r", limit=30)
    assert cut == "word word word word word word… (gates explain r)"


def test_counts_are_in_the_singular_for_one(tmp_path: Path) -> None:
    one = Finding("pss-privileged", Severity.HIGH, "privileged", Location("k8s/a.yaml", 5, 3),
                  waiver=Waiver("accepted", "gates.toml waivers[1]"))
    two = dataclasses.replace(one, location=Location("k8s/a.yaml", 9, 3), waiver=None)
    report = Report(results=(Result("manifests", "k8s/a.yaml#Pod/x", Outcome.FAILED, (one,)),
                             error_result("manifests", "k8s/c.yaml", "invalid YAML"),
                             Result("vulnerabilities", "trivy.json", Outcome.FAILED, (one, two))),
                    gates=("manifests", "vulnerabilities"))
    text = renderer(Format.CONSOLE)(report, context(tmp_path))
    assert "manifests: 1 failed, 1 error · 1 finding (1 waived)" in text
    assert "vulnerabilities: 1 failed · 2 findings (1 waived)" in text
    assert not re.search(r"\b1 (findings|errors)\b", text)
