"""Shared fixtures: the third-party corpus, and running the CLI in-process or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from gates.cli import main
from tests.support.report_schema import JsonReports

REPO = Path(__file__).resolve().parent.parent


def corpus_root() -> Path:
    """`$GATES_CORPUS`, or ../shared/corpus beside the repository."""
    return Path(os.environ.get("GATES_CORPUS", REPO.parent / "shared" / "corpus"))


def require_corpus(*parts: str) -> Path:
    """A corpus path, skipping the test when it is absent outside CI and failing under CI=true."""
    path = corpus_root().joinpath(*parts)
    if not path.exists():
        message = f"needs the third-party corpus at {path} (set GATES_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": under CI the corpus must be present")
        pytest.skip(message)
    return path


@pytest.fixture
def corpus() -> Path:
    return require_corpus()


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    """Run `gates` in-process: returns a function (args) -> CliRun."""
    for name in list(os.environ):
        if name.startswith("GATES_") and name != "GATES_CORPUS":
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")

    def run(args: Sequence[str]) -> CliRun:
        capsys.readouterr()
        reports = JsonReports(args, Path.cwd())
        code = main(list(args))
        captured = capsys.readouterr()
        reports.check(code, captured.out)  # every JSON report validates against the shipped schema
        return CliRun(code, captured.out, captured.err)

    return run


def run_process(args: Sequence[str], cwd: Path, stdin: str | None = None,
                env: dict[str, str] | None = None, timeout: float = 60) -> CliRun:
    """Run `python -m gates` as a real process (exit codes, no traceback on stderr, stdin)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATES_") or k == "GATES_CORPUS"}
    environment.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    environment.pop("GITHUB_ACTIONS", None)
    environment.update(env or {})
    reports = JsonReports(args, cwd, environment)
    proc = subprocess.run(
        [sys.executable, "-m", "gates", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env=environment, timeout=timeout, check=False,
    )
    reports.check(proc.returncode, proc.stdout)  # every JSON report validates against the shipped schema
    return CliRun(proc.returncode, proc.stdout, proc.stderr)
