"""Running gates as a real process with full control of its environment and of its stdout (closed, a pipe, a device)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from tests.conftest import REPO, CliRun
from tests.manifests.helpers import compliant_pod_spec, wrap, write
from tests.support.report_schema import JsonReports

CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITLAB_CI", "CI_PROJECT_DIR",
                "GATES_ALLOW_OUTPUT_OUTSIDE_WORKSPACE", "GITHUB_STEP_SUMMARY")


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any CI or GATES_ setting (the test's own CI, if any, is not ours)."""
    env = {k: v for k, v in os.environ.items()
           if k not in CI_VARIABLES and (not k.startswith("GATES_") or k == "GATES_CORPUS")}
    env.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    env.update(extra or {})
    return env


def gates(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120) -> CliRun:
    """`python -m gates ARGS` with stdout and stderr captured."""
    variables = environment(env)
    reports = JsonReports(args, cwd, variables)
    proc = subprocess.run([sys.executable, "-m", "gates", *args], cwd=cwd, capture_output=True, text=True,
                          env=variables, timeout=timeout, check=False)
    reports.check(proc.returncode, proc.stdout)  # every JSON report validates against the shipped schema
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def gates_to(stdout: IO[Any] | int | None, args: Sequence[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """`python -m gates ARGS` writing its stdout to `stdout` (a file, a pipe end); returns (exit code, stderr)."""
    reports = JsonReports(args, cwd)
    proc = subprocess.run([sys.executable, "-m", "gates", *args], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=environment(), timeout=timeout, check=False)
    reports.check(proc.returncode, "")  # stdout went elsewhere; the --output json files still validate
    return proc.returncode, proc.stderr


def failing_project(root: Path, files: int = 1) -> Path:
    """A repository whose manifests fail (a privileged Pod per file): the verdict is exit 1."""
    (root / ".git").mkdir(parents=True)
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    for index in range(files):
        write(root, f"pod{index}.yaml", wrap("Pod", spec, name=f"web{index}"))
    return root


def passing_project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    write(root, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    return root


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def no_traceback(stderr: str) -> bool:
    return "Traceback" not in stderr and "Exception ignored" not in stderr
