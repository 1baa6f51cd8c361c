"""`config-ref` of the GitHub Actions, run for real by `act` (no Docker: the `-self-hosted` platform).

The pull request's branch weakens `gates.toml` and waives its own finding; the step with
`config-ref: main` still fails on `main`'s policy, the step without it passes. Needs act and git
(tests/ci_surfaces/tools.py says how CI installs them).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.core.test_config_ref import STRICT, WAIVED, WEAK, _manifest

WORKFLOW = """\
on: push
jobs:
  gates:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: checkout-config
        uses: example/gates@v1
        with:
          path: ds.yaml
          json-file: {out}/checkout.json
      - id: trusted
        continue-on-error: true
        uses: example/gates@v1
        with:
          path: ds.yaml
          config-ref: main
          json-file: {out}/trusted.json
      - id: sub-action
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: ds.yaml
          config-ref: main
          json-file: {out}/sub-action.json
      - id: hostile
        continue-on-error: true
        uses: example/gates@v1
        with:
          path: ds.yaml
          config-ref: "--output=x; touch {out}/pwned"
          json-file: {out}/hostile.json
      - if: always()
        shell: bash
        env:
          STEPS: ${{{{ toJSON(steps) }}}}
        run: printf '%s' "$STEPS" > "{out}/steps.json"
"""


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict[str, Any]]:
    act = require("act")
    require("git")
    base = tmp_path_factory.mktemp("act-config-ref")
    source = copy_action_source(base / "gates-action")
    repo, out = base / "project", base / "out"
    (repo / ".github" / "workflows").mkdir(parents=True)
    out.mkdir()
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]

    def commit(message: str) -> None:
        for args in (["add", "-A"], ["commit", "-qm", message]):
            subprocess.run([*git, *args], cwd=repo, check=True, env=env)

    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    (repo / ".github" / "workflows" / "gates.yml").write_text(WORKFLOW.format(out=out), encoding="utf-8")
    (repo / "gates.toml").write_text(STRICT, encoding="utf-8")
    (repo / "ds.yaml").write_text(_manifest(), encoding="utf-8")
    commit("strict policy")
    subprocess.run([*git, "checkout", "-q", "-b", "pr"], cwd=repo, check=True, env=env)
    (repo / "gates.toml").write_text(WEAK, encoding="utf-8")
    (repo / "ds.yaml").write_text(_manifest(WAIVED), encoding="utf-8")
    commit("weaken the policy")
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted", "--local-repository", f"example/gates@v1={source}"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=480, check=False,
    )
    log = proc.stdout + proc.stderr
    steps_file = out / "steps.json"
    assert steps_file.exists(), log[-6000:]
    return log, out, json.loads(steps_file.read_text(encoding="utf-8"))


def test_config_ref_input_keeps_mains_policy(act_run: tuple[str, Path, dict[str, Any]]) -> None:
    log, out, steps = act_run
    assert steps["checkout-config"]["outputs"]["outcome"] == "passed", log[-4000:]
    for step in ("trusted", "sub-action"):
        assert steps[step]["outcome"] == "failure", log[-4000:]
        assert steps[step]["outputs"]["outcome"] == "failed"
        report = json.loads((out / f"{step}.json").read_text(encoding="utf-8"))
        [finding] = report["results"][0]["findings"]
        assert finding["waived"] is None and any("inline waiver ignored" in n for n in finding["notes"])


def test_a_hostile_config_ref_is_refused_and_runs_nothing(act_run: tuple[str, Path, dict[str, Any]]) -> None:
    log, out, steps = act_run
    assert steps["hostile"]["outcome"] == "failure"
    assert steps["hostile"]["outputs"]["exit-code"] == "2"
    assert "a ref cannot start with '-'" in log
    assert not (out / "pwned").exists()
