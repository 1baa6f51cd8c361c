"""GitLab Code Quality: every entry valid for GitLab's parser, fingerprints stable and unique."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates.model import Report
from gates.reporters import Format, renderer
from tests.reporters.conftest import BAD_DEPLOYMENT, context, hand_report, jsonschema, load_schema, manifest_report


def entries(report: Report, root: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(renderer(Format.GITLAB)(report, context(root)))
    return data


def validate(items: list[dict[str, Any]]) -> None:
    """GitLab checks each entry on its own and silently drops the invalid ones, so check each."""
    schema = load_schema("gitlab-codequality-codeclimate.json")
    assert isinstance(items, list)
    for item in items:
        jsonschema.validate(item, schema)


def test_hand_report_entries_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    items = entries(hand_report(tmp_path), tmp_path)
    validate(items)
    with pytest.raises(jsonschema.ValidationError):
        validate([{**items[0], "location": {"path": "x", "lines": {"begin": "12"}}}])


def test_real_run(project: Path) -> None:
    report = manifest_report()
    items = entries(report, project)
    validate(items)
    privileged = next(i for i in items if i["check_name"] == "pss-privileged")
    line = BAD_DEPLOYMENT.splitlines().index("            privileged: true") + 1
    assert privileged["location"] == {"path": "k8s/deploy.yaml", "lines": {"begin": line}}
    assert privileged["severity"] == "blocker"
    assert privileged["categories"] == ["Security"]
    assert "How to fix" in privileged["content"]["body"]
    undecided = [i for i in items if i["check_name"] == "gates-undecided"]
    assert [i["location"]["path"] for i in undecided] == ["k8s/broken.yaml"]
    findings = [f for r in report.results for f in r.findings]
    assert not any(f.location.path == "k8s/good.yaml" for f in findings)
    assert len(items) == len(findings) + 1  # every finding, plus the undecided file


def test_fingerprints_unique_and_stable(project: Path) -> None:
    first = [i["fingerprint"] for i in entries(manifest_report(), project)]
    (project / "k8s" / "deploy.yaml").write_text("\n\n\n" + BAD_DEPLOYMENT, encoding="utf-8")
    moved = entries(manifest_report(), project)
    assert len(set(first)) == len(first)
    assert sorted(first) == sorted(i["fingerprint"] for i in moved)
    assert next(i for i in moved if i["check_name"] == "pss-privileged")["location"]["lines"]["begin"] == 17


def test_waived_left_out_and_duplicates_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    items = entries(hand_report(tmp_path), tmp_path)
    assert "pss-run-as-non-root" not in {i["check_name"] for i in items}
    host_path = [i for i in items if i["check_name"] == "pss-host-path"]
    assert len(host_path) == 2
    assert host_path[0]["fingerprint"] != host_path[1]["fingerprint"]
    assert {i["severity"] for i in items} <= {"info", "minor", "major", "critical", "blocker"}
    assert next(i for i in items if i["check_name"] == "pss-seccomp-restricted")["severity"] == "major"
