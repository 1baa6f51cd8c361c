"""The CI files validate against their ecosystems' schemas, and zizmor finds nothing in the actions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO

ACTIONS = [REPO / "action.yml", *sorted((REPO / "actions").glob("*/action.yml"))]


def run(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=tool_env(), timeout=120, check=False)


def test_every_gate_has_a_sub_action() -> None:
    assert {p.parent.name for p in ACTIONS[1:]} == {"manifests", "signature", "base-image", "merge"}  # + shards


def test_actions_validate_against_the_github_actions_schema() -> None:
    tool = require("check-jsonschema")
    proc = run([tool, "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_catches_a_broken_action(tmp_path: Path) -> None:
    tool = require("check-jsonschema")
    broken = tmp_path / "action.yml"
    broken.write_text("name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo\n",
                      encoding="utf-8")  # a composite run step without `shell`
    assert run([tool, "--builtin-schema", "vendor.github-actions", str(broken)]).returncode != 0


def test_zizmor_finds_nothing() -> None:
    tool = require("zizmor")
    proc = run([tool, "--offline", "--pedantic", *map(str, ACTIONS)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


def test_inputs_never_reach_run_text() -> None:
    """Every `${{ }}` in a step's `run:` would be template injection; inputs must come through `env:`."""
    for path in ACTIONS:
        action = yaml.safe_load(path.read_text(encoding="utf-8"))
        for step in action["runs"]["steps"]:
            assert "${{" not in step.get("run", ""), f"{path}: {step}"


def _gitlab_halves() -> list[tuple[str, str]]:
    component = (REPO / "gitlab" / "templates" / "gates.yml").read_text(encoding="utf-8")
    spec, sep, jobs = component.partition("\n---\n")
    assert sep, "a component is a spec document, ---, then the jobs"
    classic = (REPO / "gitlab" / "gates.gitlab-ci.yml").read_text(encoding="utf-8")
    return [("component-spec.yml", spec), ("component-jobs.yml", jobs), ("classic.yml", classic)]


def test_gitlab_templates_validate_against_the_gitlab_ci_schema(tmp_path: Path) -> None:
    tool = require("check-jsonschema")
    files = []
    for name, text in _gitlab_halves():
        (tmp_path / name).write_text(text, encoding="utf-8")
        files.append(str(tmp_path / name))
    proc = run([tool, "--builtin-schema", "vendor.gitlab-ci", *files])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = yaml.safe_load(_gitlab_halves()[0][1])
    assert all("default" in value for value in spec["spec"]["inputs"].values())


@pytest.mark.parametrize("name", ["component-jobs.yml", "classic.yml"])
def test_gitlab_jobs_keep_reports_and_inputs_out_of_scripts(name: str) -> None:
    text = dict(_gitlab_halves())[name]
    jobs = yaml.safe_load(text)
    job = next(v for k, v in jobs.items() if isinstance(v, dict) and "script" in v)
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]) == {"junit", "codequality"}
    assert not any("$[[" in line for line in job["script"])


def test_pre_commit_manifest_is_valid() -> None:
    tool = require("pre-commit")
    proc = run([tool, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
