"""Waivers in the config and inline: reasons required, expiry enforced, waived findings still shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.manifests.helpers import compliant_pod_spec, wrap, write


def _host_path_daemonset(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec = compliant_pod_spec()
    spec["volumes"] = [{"name": "proc", "hostPath": {"path": "/proc"}}]
    return wrap("DaemonSet", spec, name="node-exporter", namespace="monitoring", annotations=annotations)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ds.yaml", _host_path_daemonset())
    return tmp_path


def _config(repo: Path, body: str) -> None:
    (repo / "gates.toml").write_text(body)


def _results(run: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(run.out)["results"]
    return results


def test_config_waiver_waives_and_keeps_the_finding_visible(cli: Any, repo: Path) -> None:
    _config(repo, '[[waivers]]\nrule = "pss-volume-types"\nresource = "DaemonSet/monitoring/*"\n'
                  'reason = "node-exporter reads host /proc"\nexpires = 2099-01-01\n')
    run = cli(["manifests", "ds.yaml", "--format", "json"])
    assert run.code == 0
    [result] = _results(run)
    assert result["outcome"] == "passed"
    [finding] = result["findings"]
    assert finding["waived"]["reason"] == "node-exporter reads host /proc"
    assert finding["waived"]["expires"] == "2099-01-01"
    assert finding["waived"]["source"].startswith("gates.toml")
    junit = repo / "j.xml"
    cli(["manifests", "ds.yaml", "--output", f"junit={junit}"])
    text = junit.read_text()
    assert "<skipped" in text and "node-exporter reads host /proc" in text
    console = cli(["manifests", "ds.yaml"])
    assert "waived until 2099-01-01" in console.out and "node-exporter reads host /proc" in console.out


def test_expired_waiver_fails_again_and_says_so(cli: Any, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(repo, '[[waivers]]\nrule = "pss-*"\npath = "ds.yaml"\nreason = "temporary"\nexpires = 2026-01-31\n')
    monkeypatch.setenv("GATES_NOW", "2026-02-01")
    run = cli(["manifests", "ds.yaml", "--format", "json"])
    assert run.code == 1
    [finding] = _results(run)[0]["findings"]
    assert finding["waived"] is None
    assert any("expired on 2026-01-31" in note for note in finding["notes"])
    monkeypatch.setenv("GATES_NOW", "2026-01-31")
    assert cli(["manifests", "ds.yaml"]).code == 0  # still valid on its expiry day


def test_waiver_without_reason_is_a_configuration_error(cli: Any, repo: Path) -> None:
    _config(repo, '[[waivers]]\nrule = "pss-volume-types"\nreason = "  "\n')
    run = cli(["manifests", "ds.yaml"])
    assert run.code == 2
    assert "gates.toml: waivers[1].reason: a waiver needs a reason" in run.err


def test_waiver_that_does_not_match_leaves_the_failure(cli: Any, repo: Path) -> None:
    _config(repo, '[[waivers]]\nrule = "pss-volume-types"\nresource = "Deployment/*"\nreason = "other"\n')
    assert cli(["manifests", "ds.yaml"]).code == 1


def test_inline_waiver_annotation(cli: Any, repo: Path) -> None:
    annotations = {"gates.dev/waive.pss-volume-types": "reads host /proc; expires=2099-12-31"}
    write(repo, "ds.yaml", _host_path_daemonset(annotations))
    run = cli(["manifests", "ds.yaml", "--format", "json"])
    assert run.code == 0
    [finding] = _results(run)[0]["findings"]
    assert finding["waived"]["reason"] == "reads host /proc"
    assert finding["waived"]["source"].startswith("ds.yaml:")


@pytest.mark.parametrize(("value", "problem"), [
    ("expires=2099-12-31", "waiver has no reason"),
    ("ok; expires=someday", "is not a YYYY-MM-DD date"),
])
def test_bad_inline_waiver_is_an_error(cli: Any, repo: Path, value: str, problem: str) -> None:
    write(repo, "ds.yaml", _host_path_daemonset({"gates.dev/waive.pss-volume-types": value}))
    run = cli(["manifests", "ds.yaml", "--format", "json"])
    assert run.code == 1
    result, waiver = _results(run)  # the resource keeps its findings; the waiver is an error of its own
    assert result["outcome"] == "failed" and [f["rule"] for f in result["findings"]] == ["pss-volume-types"]
    assert waiver["outcome"] == "error" and problem in waiver["error"]
