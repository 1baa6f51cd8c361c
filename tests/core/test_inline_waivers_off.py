"""`inline-waivers = false`: an annotation in the tree under test notes, never waives, its own finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_process
from tests.core.test_waivers import _host_path_daemonset
from tests.manifests.helpers import write

ANNOTATION = {"gates.dev/waive.pss-volume-types": "trust me; expires=2099-12-31"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    write(tmp_path, "ds.yaml", _host_path_daemonset(ANNOTATION))
    return tmp_path


def _findings(out: str) -> list[dict[str, Any]]:
    [result] = json.loads(out)["results"]
    findings: list[dict[str, Any]] = result["findings"]
    return findings


def test_inline_waiver_becomes_a_note_when_inline_waivers_are_off(repo: Path) -> None:
    (repo / "gates.toml").write_text("inline-waivers = false\n")
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert run.code == 1, run.err
    [finding] = _findings(run.out)
    assert finding["rule"] == "pss-volume-types" and finding["waived"] is None
    [note] = finding["notes"]
    assert note.startswith("inline waiver ignored (inline-waivers = false): ds.yaml:")
    assert "trust me" in note and "2099-12-31" in note
    console = run_process(["manifests", "ds.yaml"], cwd=repo)
    assert console.code == 1 and "inline waiver ignored" in console.out


@pytest.mark.parametrize(("body", "code"), [("inline-waivers = true\n", 0)])
def test_inline_waivers_still_waive_by_default(repo: Path, body: str, code: int) -> None:
    (repo / "gates.toml").write_text(body)
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert run.code == code, run.err
    [finding] = _findings(run.out)
    assert finding["waived"]["reason"] == "trust me"


def test_a_config_waiver_still_waives_when_inline_waivers_are_off(repo: Path) -> None:
    (repo / "gates.toml").write_text('inline-waivers = false\n[[waivers]]\nrule = "pss-volume-types"\n'
                                     'reason = "reviewed by security"\n')
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert run.code == 0, run.err
    [finding] = _findings(run.out)
    assert finding["waived"]["reason"] == "reviewed by security" and finding["waived"]["source"].startswith(
        "gates.toml")
    assert any("inline waiver ignored" in note for note in finding["notes"])


def test_inline_waivers_must_be_true_or_false(repo: Path) -> None:
    (repo / "gates.toml").write_text('inline-waivers = "no"\n')
    run = run_process(["manifests", "ds.yaml"], cwd=repo)
    assert run.code == 2 and "inline-waivers: must be true or false" in run.err
