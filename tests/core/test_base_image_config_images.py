"""`gates base-image` without IMAGE arguments checks `[base-image] images`, as `gates signature` does."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_process
from tests.support.registry import free_port


def test_images_come_from_the_config_when_none_are_given(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    unreachable = f"127.0.0.1:{free_port()}/app:1"
    (tmp_path / "gates.toml").write_text(
        f'[base-image]\nimages = ["Not/A:Valid@Ref", "{unreachable}"]\n[registry]\ntimeout = 2\n', encoding="utf-8")
    run = run_process(["base-image", "--format", "json"], cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path)})
    assert run.code == 1, run.err
    results = json.loads(run.out)["results"]
    assert [(r["target"], r["outcome"]) for r in results] == [
        ("Not/A:Valid@Ref", "error"), (unreachable, "error")]


def test_arguments_win_over_the_config(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "gates.toml").write_text('[base-image]\nimages = ["configured/one:1"]\n', encoding="utf-8")
    run = run_process(["base-image", "--format", "json", "--", "Bad/Ref:X@y"], cwd=tmp_path)
    assert [r["target"] for r in json.loads(run.out)["results"]] == ["Bad/Ref:X@y"]


def test_no_images_anywhere_is_a_usage_error_naming_both_places(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "gates.toml").write_text("[base-image]\nmax-age-days = 30\n", encoding="utf-8")
    run = run_process(["base-image"], cwd=tmp_path)
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == ("gates: error: the base-image gate has no images to check: give `gates base-image`"
                               " IMAGE arguments, or list them in [base-image] images (gates.toml)")
