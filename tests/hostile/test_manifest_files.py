"""Hostile files through the CLI (a real process, with a timeout): each is one `error` line naming it;
the good file given in the same run still passes; no traceback; the run ends in bounded time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_process
from tests.hostile.files import CONFIG_CASES, GOOD_POD, MANIFEST_CASES, Case, ConfigCase

TIMEOUT = 30.0
"""Seconds a whole run may take; the subprocess is killed (and the test fails) past it."""


def _run(args: list[str], cwd: Path) -> tuple[CliRun, float]:
    started = time.monotonic()
    run = run_process(args, cwd=cwd, timeout=TIMEOUT)
    return run, time.monotonic() - started


def _clean(run: CliRun) -> None:
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err + run.out


def _results(run: CliRun) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(run.out)["results"]
    return out


def _check_error(results: list[dict[str, Any]], case: Case) -> None:
    mine = [r for r in results if r["target"].split("#")[0] == case.name]
    assert len(mine) == 1, (case.name, mine)
    [result] = mine
    assert result["outcome"] == "error", (case.name, result)
    error = result["error"]
    assert error.startswith(case.name), error
    assert "\n" not in error and len(error) < 400, error
    assert case.expect in error, (case.name, error)


@pytest.mark.parametrize("case", MANIFEST_CASES, ids=[c.name for c in MANIFEST_CASES])
def test_each_hostile_file_is_one_error_line_and_the_good_file_still_passes(tmp_path: Path, case: Case) -> None:
    case.write(tmp_path / case.name)
    (tmp_path / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    run, elapsed = _run(["manifests", case.name, "good.yaml", "--format", "json"], tmp_path)
    _clean(run)
    assert run.code == 1, run.err
    results = _results(run)
    _check_error(results, case)
    assert [r["outcome"] for r in results if r["target"].startswith("good.yaml")] == ["passed"]
    assert elapsed < TIMEOUT


def test_the_whole_corpus_in_one_run_by_name_and_by_directory_walk(tmp_path: Path) -> None:
    for case in MANIFEST_CASES:
        case.write(tmp_path / case.name)
    (tmp_path / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    named, _ = _run(["manifests", *(c.name for c in MANIFEST_CASES), "good.yaml", "--format", "json"], tmp_path)
    _clean(named)
    report = json.loads(named.out)
    assert named.code == 1 and report["outcome"] == "error"
    for case in MANIFEST_CASES:
        _check_error(report["results"], case)
    assert [r["outcome"] for r in report["results"] if r["target"].startswith("good.yaml")] == ["passed"]

    walked, _ = _run(["manifests", ".", "--format", "json"], tmp_path)
    _clean(walked)
    outcomes = {r["target"].split("#")[0]: r["outcome"] for r in _results(walked)}
    assert outcomes.pop("good.yaml") == "passed"
    assert "passed" not in outcomes.values()  # no hostile file passes; some are not Kubernetes files at all
    # a walk ignores files with no Kubernetes object in them (JSON arrays, strings): never a pass, though
    ignored = {c.name for c in MANIFEST_CASES} - set(outcomes)
    assert ignored <= {"array.json", "string.json", "number.json", "null.json"}, ignored


def test_hostile_stdin_is_one_error_line(tmp_path: Path) -> None:
    run = run_process(["manifests", "-", "--format", "json"], cwd=tmp_path,
                      stdin="apiVersion: v1\nkind: Pod\nspec: " + "[" * 10000, timeout=TIMEOUT)
    _clean(run)
    [result] = _results(run)
    assert result["outcome"] == "error" and "\n" not in result["error"]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.name for c in CONFIG_CASES])
def test_hostile_config_is_a_configuration_error_naming_file_and_key(tmp_path: Path, case: ConfigCase) -> None:
    config = tmp_path / "gates.toml"
    config.write_bytes(case.text)
    (tmp_path / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    run, elapsed = _run(["manifests", "good.yaml", "--config", "gates.toml", "--format", "json"], tmp_path)
    _clean(run)
    assert run.code == 2, (case.name, run.out, run.err)
    assert run.out == ""  # nothing judged on a configuration nobody can trust
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "gates.toml: " in lines[0] and case.expect in lines[0], lines[0]
    assert elapsed < TIMEOUT


def test_a_walk_over_every_fault_at_once_reports_each_in_bounded_time(tmp_path: Path) -> None:
    """Hostile files plus hostile entries (a pipe, link loops, a dangling link, a 1,100-level folder):
    none blocks the walk or hides the rest; each is its own result."""
    for case in MANIFEST_CASES:
        case.write(tmp_path / case.name)
    (tmp_path / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "dangling.yml").symlink_to("nowhere.yml")
    (tmp_path / "here").symlink_to(".")
    deep = tmp_path / "deep"
    deep.mkdir()
    folders = [deep]
    for _ in range(1100):
        folders.append(folders[-1] / "d")
        folders[-1].mkdir()
    try:
        walked, elapsed = _run(["manifests", ".", "--format", "json"], tmp_path)
    finally:
        for folder in reversed(folders):  # shutil.rmtree recurses: too deep for it
            folder.rmdir()
    _clean(walked)
    assert walked.code == 1 and elapsed < TIMEOUT
    outcomes = {r["target"].split("#")[0]: (r["outcome"], r.get("error") or "") for r in _results(walked)}
    assert outcomes.pop("good.yaml") == ("passed", "")
    assert outcomes.pop("pipe.yaml") == ("skipped", "pipe.yaml: a pipe (FIFO), not a regular file: skipped,"
                                                    " never opened")
    assert outcomes.pop("loop.yaml")[1].startswith("loop.yaml: cannot read: a symlink loop")
    assert outcomes.pop("dangling.yml") == ("error", "dangling.yml: cannot read: a dangling symlink")
    [(too_deep, (outcome, _))] = [(t, o) for t, o in outcomes.items() if t.startswith("deep/")]
    assert outcome == "error" and too_deep.count("/") == 128
    assert "passed" not in {outcome for outcome, _ in outcomes.values()}
