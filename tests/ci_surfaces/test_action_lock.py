"""The actions install gates' dependencies from actions/common/requirements.lock, and only as it pins them.

The lock must be current: made from the pyproject.toml of this commit (its first line records a
digest of what it was locked from), every requirement pinned and hashed, every pin within
pyproject's range. A hash that does not match is refused by pip, for real, in a real virtualenv.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ci_surfaces.test_action_driver import driver
from tests.ci_surfaces.tools import copy_action_source
from tests.conftest import REPO

LOCK = REPO / "actions" / "common" / "requirements.lock"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_script", REPO / "scripts" / "lock_action_requirements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _script()


def _pins(text: str) -> dict[str, tuple[str, list[str]]]:
    """Each locked project -> (version, its hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", text):
        first = block.split(" ", 1)[0]
        if first.startswith("#") or not first.strip():
            continue
        name, sep, version = first.partition("==")
        assert sep, f"not pinned: {first!r}"
        pins[canonicalize_name(name)] = (version, re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def test_the_lock_is_made_from_this_pyproject() -> None:
    header = LOCK.read_text(encoding="utf-8").splitlines()[0]
    assert header == script.HEADER + script.inputs_digest((REPO / "pyproject.toml").read_bytes()), (
        "pyproject.toml changed since the lock was made: run python scripts/lock_action_requirements.py")


def test_the_lock_changes_when_a_dependency_does() -> None:
    pyproject = (REPO / "pyproject.toml").read_bytes()
    changed = pyproject.replace(b'"requests>=2.31"', b'"requests>=2.32"')
    assert changed != pyproject and script.inputs_digest(changed) != script.inputs_digest(pyproject)


def test_every_requirement_is_pinned_hashed_and_in_range() -> None:
    pins = _pins(LOCK.read_text(encoding="utf-8"))
    assert all(hashes for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]
    for line in script.lock_inputs((REPO / "pyproject.toml").read_bytes()):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in the lock"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (line, pins[name][0])
    assert "setuptools" in pins  # gates is built without build isolation, by the locked backend


def test_the_pip_cache_input() -> None:
    assert driver.pip_cache({"GATES_ACTION_PIP_CACHE": "false"}) == ["--no-cache-dir"]
    assert driver.pip_cache({"RUNNER_TOOL_CACHE": "/opt/tools"}) == ["--cache-dir", "/opt/tools/gates-pip-cache"]
    assert driver.pip_cache({"RUNNER_TOOL_CACHE": "/opt/tools", "PIP_CACHE_DIR": "/c"}) == []  # the runner's choice
    assert driver.pip_cache({}) == []
    with pytest.raises(driver.ActionError, match="input pip-cache"):
        driver.pip_cache({"GATES_ACTION_PIP_CACHE": "sometimes"})


def test_a_file_that_does_not_match_the_lock_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Needs six from PyPI (or pip's configured index): pip gets the real file, the lock a wrong hash."""
    version, _ = _pins(LOCK.read_text(encoding="utf-8"))["six"]
    root = copy_action_source(tmp_path / "action")
    lock = root / "actions" / "common" / "requirements.lock"
    lock.write_text(f"six=={version} --hash=sha256:{'0' * 64}\n", encoding="utf-8")
    monkeypatch.setattr(driver, "ACTION_ROOT", root)
    monkeypatch.setattr(driver, "LOCK", lock)
    with pytest.raises(subprocess.CalledProcessError) as caught:
        driver.install({"RUNNER_TEMP": str(tmp_path), "GATES_ACTION_PIP_CACHE": "false",
                        "PATH": "/usr/bin:/bin"})
    assert "--require-hashes" in caught.value.cmd and str(lock) in caught.value.cmd
    assert not list(tmp_path.glob("gates-action-*/bin/gates"))
