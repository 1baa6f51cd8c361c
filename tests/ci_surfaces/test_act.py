"""The GitHub Actions, run for real by `act` on this machine (no Docker: `-self-hosted` platform).

The workflow uses the actions the way a consumer does, `uses: example/gates@v1` and
`example/gates/actions/manifests@v1`, with act's `--local-repository` mapping that repository to a
copy of this one, so the composite actions install gates from `$GITHUB_ACTION_PATH` through pip.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.reporters.conftest import BAD_DEPLOYMENT, GOOD_POD, jsonschema, load_schema

WORKFLOW = """\
on: push
jobs:
  gates:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: root
        uses: example/gates@v1
        with:
          path: k8s/good.yaml
      - id: manifests
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: |
            k8s
          fail-on: high
      - id: advisory
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s/deploy.yaml
          fail: "false"
          sarif-file: ""
          json-file: reports/advisory.json
      - id: inject
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s/$(touch {out}/pwned)
          sarif-file: inject.sarif
          junit-file: inject.xml
          json-file: inject.json
      - if: always()
        env:
          STEPS: ${{{{ toJSON(steps) }}}}
          OUT: {out}
        run: |
          printf '%s' "$STEPS" > "$OUT/steps.json"
          cp gates*.sarif gates*.xml gates*.json "$OUT/"
          cp reports/advisory.json "$OUT/"
"""


@dataclass(frozen=True)
class ActRun:
    code: int
    log: str
    out: Path
    steps: dict[str, Any]


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory) -> ActRun:
    act = require("act")
    require("git")
    base = tmp_path_factory.mktemp("act")
    source = copy_action_source(base / "gates-action")
    repo, out = base / "project", base / "out"
    (repo / "k8s").mkdir(parents=True)
    out.mkdir()
    (repo / "k8s" / "deploy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (repo / "k8s" / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "gates.yml").write_text(WORKFLOW.format(out=out), encoding="utf-8")
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=env)
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted", "--local-repository", f"example/gates@v1={source}"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=480, check=False,
    )
    log = proc.stdout + proc.stderr
    steps_file = out / "steps.json"
    assert steps_file.exists(), log[-6000:]
    return ActRun(proc.returncode, log, out, json.loads(steps_file.read_text(encoding="utf-8")))


def test_job_succeeds(act_run: ActRun) -> None:
    assert act_run.code == 0, act_run.log[-6000:]
    assert "Job succeeded" in act_run.log


def test_root_action_passes_with_outputs(act_run: ActRun) -> None:
    root = act_run.steps["root"]
    assert root["outcome"] == "success"
    outputs = root["outputs"]
    assert outputs["outcome"] == "passed" and outputs["exit-code"] == "0"
    assert (outputs["passed"], outputs["failed"], outputs["findings"]) == ("1", "0", "0")
    assert (outputs["sarif-file"], outputs["junit-file"]) == ("gates.sarif", "gates-junit.xml")


def test_manifests_sub_action_fails_the_step(act_run: ActRun) -> None:
    step = act_run.steps["manifests"]
    assert step["outcome"] == "failure" and step["conclusion"] == "success"  # continue-on-error
    outputs = step["outputs"]
    assert outputs["outcome"] == "failed" and outputs["exit-code"] == "1"
    assert int(outputs["blocking"]) >= 4 and int(outputs["findings"]) > int(outputs["blocking"])  # fail-on high
    assert "::error file=k8s/deploy.yaml,line=14,col=13,title=pss-privileged" in act_run.log
    assert "Summary - ## ❌ gates: failed" in act_run.log


def test_reports_are_written_and_valid(act_run: ActRun) -> None:
    sarif = json.loads((act_run.out / "gates-manifests.sarif").read_text(encoding="utf-8"))
    schema = load_schema("sarif-schema-2.1.0.json")
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
            for loc in r["locations"]}
    assert uris == {"k8s/deploy.yaml"}
    junit = (act_run.out / "gates-manifests-junit.xml").read_text(encoding="utf-8")
    assert "<failure" in junit and "pss-privileged" in junit
    report = json.loads((act_run.out / "gates-manifests-report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "failed"


def test_fail_false_reports_without_failing(act_run: ActRun) -> None:
    step = act_run.steps["advisory"]
    assert step["outcome"] == "success"
    assert step["outputs"]["outcome"] == "failed" and step["outputs"]["sarif-file"] == ""
    assert json.loads((act_run.out / "advisory.json").read_text(encoding="utf-8"))["outcome"] == "failed"


def test_an_input_cannot_inject_a_command(act_run: ActRun) -> None:
    step = act_run.steps["inject"]
    assert not (act_run.out / "pwned").exists()
    assert step["outcome"] == "failure"
    assert step["outputs"]["exit-code"] == "2"  # gates: no such file or directory, taken literally
    assert step["outputs"]["outcome"] == "error" and step["outputs"]["json-file"] == ""
