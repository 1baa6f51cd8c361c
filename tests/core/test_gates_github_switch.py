"""`GATES_GITHUB` takes true/false, 1/0, yes/no in any case; any other value is a configuration error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    spec = compliant_pod_spec()
    spec["hostNetwork"] = True
    write(tmp_path, "pod.yaml", wrap("Pod", spec))
    return tmp_path


def _under_actions(tree: Path, value: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tree), "GATES_GITHUB": value}


@pytest.mark.parametrize("value", ["false", "FALSE", "No", "0", " no "])
def test_off_in_any_spelling(tree: Path, value: str) -> None:
    run = run_process(["manifests", "pod.yaml"], cwd=tree, env=_under_actions(tree, value))
    assert run.code == 1, run.err
    assert "::error" not in run.out + run.err


@pytest.mark.parametrize("value", ["true", "TRUE", "Yes", "1"])
def test_on_in_any_spelling(tree: Path, value: str) -> None:
    run = run_process(["manifests", "pod.yaml"], cwd=tree, env=_under_actions(tree, value))
    assert run.code == 1, run.err
    assert "::error file=pod.yaml" in run.out


@pytest.mark.parametrize("value", ["off", "flase", "2", "enabled"])
def test_anything_else_is_a_configuration_error(tree: Path, value: str) -> None:
    run = run_process(["manifests", "pod.yaml"], cwd=tree, env=_under_actions(tree, value))
    assert run.code == 2
    assert run.out == ""
    assert run.err.strip() == ("gates: configuration error: environment variable GATES_GITHUB: must be one of"
                               f" true, false, 1, 0, yes, no (any case), found {value!r}")
