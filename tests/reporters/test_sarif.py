"""SARIF: schema-valid, one rule per ID with registry help, repo-relative URIs, stable fingerprints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from gates.checks import all_rules
from gates.model import Report
from gates.reporters import Format, renderer
from gates.reporters.sarif import FINGERPRINT_KEY, UNDECIDED_RULE, as_dict, repo_path
from tests.reporters.conftest import BAD_DEPLOYMENT, context, hand_report, jsonschema, load_schema, manifest_report


def validate(log: dict[str, Any]) -> None:
    schema = load_schema("sarif-schema-2.1.0.json")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class(schema).validate(log)


def sarif(report: Report, root: Path) -> dict[str, Any]:
    """Through the public factory, so the Format wiring is tested too."""
    data: dict[str, Any] = json.loads(renderer(Format.SARIF)(report, context(root)))
    return data


def test_hand_report_is_valid_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    validate(sarif(hand_report(tmp_path), tmp_path))


def test_schema_check_is_not_vacuous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log = sarif(hand_report(tmp_path), tmp_path)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate(log)


def test_real_run_is_valid_and_points_at_lines(project: Path) -> None:
    log = sarif(manifest_report(), project)
    validate(log)
    run = log["runs"][0]
    results = [r for r in run["results"] if r["ruleId"] != UNDECIDED_RULE]
    assert {r["ruleId"] for r in results} >= {"pss-privileged", "pss-host-namespaces"}
    privileged = next(r for r in results if r["ruleId"] == "pss-privileged")
    physical = privileged["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "k8s/deploy.yaml", "uriBaseId": "%SRCROOT%"}
    line = BAD_DEPLOYMENT.splitlines().index("            privileged: true") + 1
    assert physical["region"] == {"startLine": line, "startColumn": 13}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"


def test_a_rule_per_id_with_registry_help(project: Path) -> None:
    run = sarif(manifest_report(), project)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    registry = all_rules()
    for rule_id, rule in registry.items():
        if rule.gate != "manifests":
            continue
        descriptor = rules[ids.index(rule_id)]
        assert descriptor["shortDescription"]["text"] == rule.title
        assert rule.rationale in descriptor["help"]["text"]
        assert rule.remediation in descriptor["help"]["text"]
        assert descriptor["properties"]["security-severity"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_uris_are_relative_to_the_root_not_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "svc" / "k8s").mkdir(parents=True)
    (tmp_path / "svc" / "k8s" / "deploy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "svc")
    log = sarif(manifest_report(), tmp_path)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
            for loc in r["locations"]}
    assert uris == {"svc/k8s/deploy.yaml"}


def test_undecided_targets_are_error_results_and_notifications(project: Path) -> None:
    log = sarif(manifest_report(), project)
    run = log["runs"][0]
    undecided = [r for r in run["results"] if r["ruleId"] == UNDECIDED_RULE]
    assert len(undecided) == 1
    assert undecided[0]["level"] == "error"
    assert "k8s/broken.yaml" in undecided[0]["message"]["text"]
    assert undecided[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "k8s/broken.yaml"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error"]
    assert run["invocations"][0]["executionSuccessful"] is True


def test_fingerprints_survive_lines_moving_and_are_unique(project: Path) -> None:
    before = sarif(manifest_report(), project)["runs"][0]["results"]
    (project / "k8s" / "deploy.yaml").write_text("# a comment\n\n" + BAD_DEPLOYMENT, encoding="utf-8")
    after = sarif(manifest_report(), project)["runs"][0]["results"]
    lines_before = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before
                    if "region" in r["locations"][0]["physicalLocation"]}
    lines_after = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after
                   if "region" in r["locations"][0]["physicalLocation"]}
    assert lines_before != lines_after
    prints_before = [r["partialFingerprints"][FINGERPRINT_KEY] for r in before]
    prints_after = [r["partialFingerprints"][FINGERPRINT_KEY] for r in after]
    assert sorted(prints_before) == sorted(prints_after)
    assert len(set(prints_before)) == len(prints_before)


def test_equal_findings_get_distinct_fingerprints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = sarif(hand_report(tmp_path), tmp_path)["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert len(set(prints)) == len(prints)
    host_path = [r for r in results if r["ruleId"] == "pss-host-path"]
    assert len(host_path) == 2


def test_waived_findings_are_suppressed_not_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = sarif(hand_report(tmp_path), tmp_path)["runs"][0]["results"]
    waived = next(r for r in results if r["ruleId"] == "pss-run-as-non-root")
    assert waived["suppressions"][0]["status"] == "accepted"
    assert "legacy image, tracked in JIRA-1" in waived["suppressions"][0]["justification"]
    advisory = next(r for r in results if r["ruleId"] == "pss-seccomp-restricted")
    assert advisory["level"] == "warning"  # below fail-on high: never shown as an error
    assert all("suppressions" not in r for r in results if r is not waived)


def test_image_locations_are_logical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = sarif(hand_report(tmp_path), tmp_path)["runs"][0]["results"]
    image = next(r for r in results if "not signed" in r["message"]["text"])
    assert "physicalLocation" not in image["locations"][0]
    assert image["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "ghcr.io/acme/app:1.0"


def test_output_does_not_depend_on_the_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = hand_report(tmp_path)
    later = dataclasses.replace(report, generated=report.generated.replace(year=2031))
    first, second = as_dict(report, context(tmp_path)), as_dict(later, context(tmp_path))
    assert first["runs"][0]["results"] == second["runs"][0]["results"]


@pytest.mark.parametrize(("path", "expected"), [
    ("k8s/app.yaml", "k8s/app.yaml"),
    ("./k8s/../k8s/app.yaml", "k8s/app.yaml"),
    ("<stdin>", None),
    ("ghcr.io/acme/app:1.0", None),
    ("registry.local:5000/app", None),
    ("app@sha256:" + "0" * 64, None),
    ("/etc/passwd", None),
])
def test_repo_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, expected: str | None) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text("x: 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert repo_path(path, tmp_path) == expected


def test_repo_paths_are_remembered_within_a_render_and_asked_afresh_at_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gates.reporters.sarif import forget_paths

    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "repo"
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "app.yaml").write_text("x: 1\n", encoding="utf-8")
    monkeypatch.chdir(root)
    forget_paths()
    assert repo_path("k8s/app.yaml", root) == "k8s/app.yaml"
    (root / "k8s" / "app.yaml").unlink()
    (root / "k8s" / "app.yaml").symlink_to(outside / "app.yaml")  # now a link out of the tree
    assert repo_path("k8s/app.yaml", root) == "k8s/app.yaml"  # the same render: remembered
    forget_paths()  # what every render does first
    assert repo_path("k8s/app.yaml", root) is None
    monkeypatch.chdir(tmp_path)  # another working directory is another answer, remembered or not
    assert repo_path("repo/k8s/app.yaml", root) is None and repo_path("k8s/app.yaml", root) is None
