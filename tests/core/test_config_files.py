"""A configuration file that exists but cannot be used fails the run (exit 2), never falls back quietly.

Each case puts a compliant manifest under a broken config, so the old behaviour (search on upward, apply
the defaults, pass) and the fixed one (one configuration-error line, exit 2) cannot be confused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRun, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    write(tmp_path / "app", "deploy.yaml", wrap("Deployment", compliant_pod_spec()))
    return tmp_path


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.toml")


def _folder(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'fail-on = "\xff"\n')


def _huge(path: Path) -> None:
    path.write_text("# padding\n" * 200_000)


def _assert_config_error(run: CliRun, name: str, problem: str) -> None:
    err = run.err
    assert run.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("gates: configuration error: ") and name in lines[0] and problem in lines[0]


@pytest.mark.parametrize(("make", "problem"), [
    (_dangling, "dangling symbolic link"),
    (_folder, "not a regular file (a folder)"),
    (_fifo, "not a regular file (a FIFO)"),
    (_not_utf8, "not UTF-8"),
    (_huge, "larger than"),
])
def test_discovered_gates_toml_that_cannot_be_read_is_a_configuration_error(
    repo: Path, make: Callable[[Path], None], problem: str
) -> None:
    (repo / "gates.toml").write_text('fail-on = "critical"\n')  # a parent config must not apply instead
    make(repo / "app" / "gates.toml")
    run = run_process(["manifests", "deploy.yaml"], cwd=repo / "app", timeout=20)
    _assert_config_error(run, "gates.toml", problem)


@pytest.mark.parametrize("body", [
    '[tool.gates]\nfail-on = "high"\n[project\nname = "x"\n',  # [tool.gates] and a syntax error elsewhere
    '[project]\nname = "x"\nversion = \n',  # broken: whether it configures gates cannot be told
])
def test_pyproject_that_does_not_parse_is_a_configuration_error(repo: Path, body: str) -> None:
    (repo / "app" / "pyproject.toml").write_text(body)
    run = run_process(["manifests", "deploy.yaml"], cwd=repo / "app", timeout=20)
    _assert_config_error(run, "pyproject.toml", "invalid TOML")


def test_dangling_pyproject_symlink_is_a_configuration_error(repo: Path) -> None:
    _dangling(repo / "app" / "pyproject.toml")
    run = run_process(["manifests", "deploy.yaml"], cwd=repo / "app", timeout=20)
    _assert_config_error(run, "pyproject.toml", "dangling symbolic link")


@pytest.mark.parametrize(("target", "problem"), [
    ("/dev/zero", "not a regular file (a character device)"),
    ("fifo", "not a regular file (a FIFO)"),
    ("folder", "not a regular file (a folder)"),
])
@pytest.mark.parametrize("how", ["env", "flag"])
def test_explicit_config_that_is_no_regular_file_is_refused_without_blocking(
    repo: Path, target: str, problem: str, how: str
) -> None:
    os.mkfifo(repo / "fifo")
    (repo / "folder").mkdir()
    path = target if target.startswith("/") else str(repo / target)
    args, env = (["manifests", "app/deploy.yaml"], {"GATES_CONFIG": path}) if how == "env" else (
        ["manifests", "app/deploy.yaml", "--config", path], {})
    run = run_process(args, cwd=repo, env=env, timeout=20)  # /dev/zero or a FIFO read to the end would hang
    _assert_config_error(run, target.lstrip("/"), problem)


@pytest.mark.parametrize(("key", "too_big", "bound"), [
    ("manifests.max-file-size", 2**63 - 1, 1024**3),
    ("registry.timeout", 10**10, 3600),
    ("registry.concurrency", 100_000, 64),
    ("base-image.max-age-days", 99_999_999, 36500),
    ("base-image.max-base-age-days", 99_999_999, 36500),
    ("base-image.max-point-release-lag", 2**32, 1000),
    ("base-image.max-package-age-days", 99_999_999, 36500),
    ("base-image.max-layer-bytes", 2**63 - 1, 64 * 1024**3),
])
def test_numbers_out_of_range_are_configuration_errors(repo: Path, key: str, too_big: int, bound: int) -> None:
    table, _, name = key.partition(".")
    (repo / "gates.toml").write_text(f"[{table}]\n{name} = {too_big}\n")
    run = run_process(["manifests", "app/deploy.yaml"], cwd=repo, timeout=20)
    _assert_config_error(run, "gates.toml", f"{key}: must be at most {bound}, found {too_big}")
    (repo / "gates.toml").write_text(f"[{table}]\n{name} = {bound}\n")  # the bound itself is fine
    assert run_process(["manifests", "app/deploy.yaml"], cwd=repo, timeout=20).code == 0


@pytest.mark.parametrize("flag", ["--max-age-days", "--max-base-age-days"])
def test_day_flags_are_bounded_like_their_keys(repo: Path, flag: str) -> None:
    run = run_process(["base-image", "ghcr.io/acme/api:1", flag, "99999999999"], cwd=repo, timeout=20)
    assert run.code == 2 and "Traceback" not in run.err
    assert "is not in the range 0<=x<=36500" in run.err
