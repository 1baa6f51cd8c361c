"""Registry bytes land only inside the cache directory: a symlink or pipe committed under it is never
followed, and a `[registry] cache-dir` from the configuration file (which a pull request writes) may not
lie inside `.git`, nor, under CI, outside the workspace and the user's cache home.

The CLI as a process, the real registry, both image gates (see tests/faults/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gates.oci.digest import Digest
from tests.conftest import run_process
from tests.faults.conftest import NOW, GateUnderFault

WARNING = "caching in memory for this run"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("gates: warning: cache directory")]


def _under_ci(workspace: Path, **more: str) -> dict[str, str]:
    return {"CI": "true", "GITHUB_WORKSPACE": str(workspace), "GATES_CACHE_DIR": "", **more}


@pytest.mark.parametrize("chosen_by", ["config-under-ci", "GATES_CACHE_DIR"])
def test_a_symlinked_folder_under_the_cache_is_never_written_through(
        gate: GateUnderFault, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, chosen_by: str) -> None:
    gate.prepare()
    outside = tmp_path_factory.mktemp("outside-the-workspace")
    (tmp_path / "cachelink").mkdir()
    (tmp_path / "cachelink" / "sha256").symlink_to(outside)  # what a pull request can commit
    if chosen_by == "GATES_CACHE_DIR":
        config, env = "", {"GATES_CACHE_DIR": str(tmp_path / "cachelink")}
    else:
        config, env = '[registry]\ncache-dir = "cachelink"\n', _under_ci(tmp_path)
    outcome = gate.run_images([gate.image(gate.registry.host)], config=config, env=env)
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]  # verified without the disk
    assert list(outside.iterdir()) == []
    warnings = _warnings(outcome.run.err)
    assert len(warnings) == 1 and "symbolic link" in warnings[0] and WARNING in warnings[0], outcome.run.err


def test_a_pipe_or_symlink_at_an_entry_is_never_followed(gate: GateUnderFault, tmp_path: Path,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    gate.prepare()
    image = gate.image(gate.registry.host)
    cache = tmp_path / "cache"
    env = {"GATES_CACHE_DIR": str(cache)}
    assert gate.run_images([image], env=env).results[0]["outcome"] == "passed"
    entries = sorted(p for p in cache.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert len(entries) >= 2, entries
    secret = tmp_path_factory.mktemp("outside") / "secret"
    secret.write_bytes(b"not the cache's to read or overwrite\n")
    for index, entry in enumerate(entries):  # pipes block a plain read forever; links lead out
        entry.unlink()
        if index % 2:
            entry.symlink_to(secret)
        else:
            os.mkfifo(entry)
    second = gate.run_images([image], env=env, timeout=30)
    assert second.results[0]["outcome"] == "passed", second.results[0]
    assert _warnings(second.run.err) == []
    assert secret.read_bytes() == b"not the cache's to read or overwrite\n"
    for entry in entries:  # fetched again and stored as what its name says
        assert entry.is_file() and not entry.is_symlink(), entry
        assert Digest.parse(f"{entry.parent.name}:{entry.name}").matches(entry.read_bytes()), entry


def _config_error(tmp_path: Path, cache_dir: str, env: dict[str, str]) -> str:
    """`gates base-image` with `cache-dir` configured: must stop at the configuration, before any network."""
    (tmp_path / "gates.toml").write_text(f'[registry]\ncache-dir = "{cache_dir}"\n', encoding="utf-8")
    run = run_process(["base-image", "127.0.0.1:9/x/app:1", "--now", NOW], cwd=tmp_path, env=env)
    assert run.code == 2, (run.code, run.out, run.err)
    [line] = run.err.strip().splitlines()
    assert line.startswith("gates: configuration error: gates.toml [registry] cache-dir = "), line
    return line


@pytest.mark.parametrize("how", ["named", "through-a-symlink"])
def test_a_configured_cache_inside_git_is_a_configuration_error(tmp_path: Path, how: str) -> None:
    (tmp_path / ".git").mkdir()
    if how == "named":
        cache_dir = ".git/gates-cache"
    else:
        (tmp_path / "hooks-cache").symlink_to(tmp_path / ".git")
        cache_dir = "hooks-cache"
    line = _config_error(tmp_path, cache_dir, {"GATES_CACHE_DIR": ""})
    assert "inside a .git directory" in line
    assert not (tmp_path / ".git" / "sha256").exists()


@pytest.mark.parametrize("how", ["absolute", "through-a-symlink"])
def test_under_ci_a_configured_cache_outside_the_workspace_is_a_configuration_error(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, how: str) -> None:
    outside = tmp_path_factory.mktemp("outside")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    if how == "absolute":
        cache_dir = str(outside)
    else:
        (workspace / "cachelink").symlink_to(outside)
        cache_dir = "cachelink"
    env = _under_ci(workspace, XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    line = _config_error(workspace, cache_dir, env)
    assert f"resolves to '{outside}', outside the workspace '{workspace}'" in line and "GATES_CACHE_DIR" in line
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("where", ["workspace", "cache-home", "GATES_CACHE_DIR"])
def test_under_ci_a_cache_in_the_workspace_the_cache_home_or_the_pipelines_choice_is_used(
        gate: GateUnderFault, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, where: str) -> None:
    gate.prepare()
    home = tmp_path_factory.mktemp("cache-home")
    elsewhere = tmp_path_factory.mktemp("pipeline-cache")
    env = _under_ci(tmp_path, XDG_CACHE_HOME=str(home))
    if where == "workspace":
        config, cache = '[registry]\ncache-dir = "ci-cache"\n', tmp_path / "ci-cache"
    elif where == "cache-home":
        config, cache = f'[registry]\ncache-dir = "{home / "gates"}"\n', home / "gates"
    else:  # the pipeline's own variable is not the pull request's to set, and overrides the file
        config, cache = f'[registry]\ncache-dir = "{elsewhere / "ignored"}"\n', elsewhere / "blobs"
        env["GATES_CACHE_DIR"] = str(cache)
    outcome = gate.run_images([gate.image(gate.registry.host)], config=config, env=env)
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    assert _warnings(outcome.run.err) == [], outcome.run.err
    assert any(p.is_file() for p in (cache / "sha256").iterdir())
