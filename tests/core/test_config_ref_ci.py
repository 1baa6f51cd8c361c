"""`config-ref` of the GitLab component and classic template, run for real by gitlab-ci-local.

The merge request's branch weakens `gates.toml` and waives its own finding; the job with
`config-ref: main` still fails on `main`'s policy, the job without it passes. Needs gitlab-ci-local,
rsync and git (tests/ci_surfaces/tools.py says how CI installs them).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO
from tests.core.test_config_ref import STRICT, WAIVED, WEAK, _manifest

PIPELINE = """\
include:
  - local: ci/component.yml
    inputs:
      job-name: gates-trusted
      install: ""
      command: manifests
      targets: ds.yaml
      config-ref: main
  - local: ci/component.yml
    inputs:
      job-name: gates-checkout
      install: ""
      command: manifests
      targets: ds.yaml
  - local: ci/classic.yml
variables:
  GATES_INSTALL: ""
  GATES_TARGETS: ds.yaml
  GATES_COMMAND: manifests
  GATES_CONFIG_REF: main
"""


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    glci = require("gitlab-ci-local")
    require("rsync")
    require("git")
    repo = tmp_path_factory.mktemp("config-ref") / "project"
    (repo / "ci").mkdir(parents=True)
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]

    def commit(message: str) -> None:
        for args in (["add", "-A"], ["commit", "-qm", message]):
            subprocess.run([*git, *args], cwd=repo, check=True, env=env)

    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    subprocess.run([*git, "remote", "add", "origin", "https://gitlab.example.invalid/acme/app.git"], cwd=repo,
                   check=True, env=env)
    (repo / "ci" / "component.yml").write_bytes((REPO / "gitlab" / "templates" / "gates.yml").read_bytes())
    (repo / "ci" / "classic.yml").write_bytes((REPO / "gitlab" / "gates.gitlab-ci.yml").read_bytes())
    (repo / ".gitlab-ci.yml").write_text(PIPELINE, encoding="utf-8")
    (repo / "gates.toml").write_text(STRICT, encoding="utf-8")
    (repo / "ds.yaml").write_text(_manifest(), encoding="utf-8")
    commit("strict policy")
    subprocess.run([*git, "checkout", "-q", "-b", "mr"], cwd=repo, check=True, env=env)
    (repo / "gates.toml").write_text(WEAK, encoding="utf-8")
    (repo / "ds.yaml").write_text(_manifest(WAIVED), encoding="utf-8")
    commit("weaken the policy")
    command = [glci, "--force-shell-executor", "--shell-isolation", "--no-color"]
    proc = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=240, check=False)
    return proc.returncode, proc.stdout + proc.stderr, repo / ".gitlab-ci-local" / "artifacts"


def _status(log: str, job: str) -> str:
    for line in log.splitlines():
        words = line.split()
        if len(words) == 2 and words[1] == job and words[0] in ("PASS", "FAIL"):
            return words[0]
    raise AssertionError(f"no verdict for {job} in:\n{log[-4000:]}")


def test_config_ref_input_keeps_mains_policy(pipeline: tuple[int, str, Path]) -> None:
    _, log, artifacts = pipeline
    assert _status(log, "gates-checkout") == "PASS"  # the weakened checkout config, as before
    assert _status(log, "gates-trusted") == "FAIL", log[-4000:]
    report = json.loads((artifacts / "gates-trusted" / "gates-report.json").read_text(encoding="utf-8"))
    [finding] = report["results"][0]["findings"]
    assert finding["waived"] is None and any("inline waiver ignored" in n for n in finding["notes"])


def test_classic_template_reads_gates_config_ref(pipeline: tuple[int, str, Path]) -> None:
    _, log, artifacts = pipeline
    assert _status(log, "gates") == "FAIL", log[-4000:]
    report = json.loads((artifacts / "gates" / "gates-report.json").read_text(encoding="utf-8"))
    assert report["fail_on"] == "low" and report["outcome"] == "failed"
