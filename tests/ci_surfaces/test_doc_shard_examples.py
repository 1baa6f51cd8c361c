"""The sharded pipelines of docs/ci.md ("Sharding"), run as written: the GitHub matrix under act, the
GitLab `parallel:` job under gitlab-ci-local, each with its merge job.

As in the other docs-example tests, only what points outside this machine is mapped: `OWNER/gates` is
this repository, the artifact and SARIF actions are stand-ins that keep and hand back files, gates comes
from this venv (`GATES_INSTALL` empty), and gitlab-ci-local, which says `GITLAB_CI=false` of itself,
is told `GITLAB_CI=true` as GitLab's runners say.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.shard import shard_of
from tests.ci_surfaces.test_doc_github_examples import UPLOAD_ARTIFACT, UPLOAD_SARIF, as_workflow
from tests.ci_surfaces.test_doc_gitlab_examples import fenced, section
from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.conftest import REPO
from tests.reporters.conftest import GOOD_POD

DOC = REPO / "docs" / "ci.md"
PODS = 8
DOWNLOAD_ARTIFACT = """\
name: download-artifact stand-in
description: hands back the files the upload stand-in kept, as merge-multiple does
inputs:
  pattern: {required: true, description: artifact names}
  path: {required: true, description: where}
  merge-multiple: {required: false, description: one folder, default: "false"}
runs:
  using: composite
  steps:
    - shell: bash
      env: {PATTERN: "${{ inputs.pattern }}", DEST: "${{ inputs.path }}", KEEP: "%(keep)s"}
      run: |
        mkdir -p "$DEST"
        for kept in "$KEEP"/artifact-$PATTERN; do cp "$kept"/* "$DEST"/; done
"""


def _example(heading: str) -> str:
    text = section(DOC.read_text(encoding="utf-8"), "Sharding")
    start = text.index(f"\n### {heading}")
    end = text.find("\n### ", start + 1)
    [example] = fenced(text[start:end if end != -1 else None], "yaml")
    return example


def _project(repo: Path) -> None:
    (repo / "deploy").mkdir(parents=True)
    for n in range(PODS):
        (repo / "deploy" / f"app-{n}.yaml").write_text(GOOD_POD.replace("name: ok", f"name: app{n}"),
                                                       encoding="utf-8")
    (repo / "gates.toml").write_text('[manifests]\npaths = ["deploy"]\n', encoding="utf-8")
    assert len({shard_of(f"deploy/app-{n}.yaml", 4) for n in range(PODS)}) > 1  # the split is real


def _commit(repo: Path) -> None:
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=tool_env(), capture_output=True)


def _merged(report: dict[str, Any]) -> None:
    assert report["outcome"] == "passed" and "shard" not in report
    assert sorted(r["target"] for r in report["results"]) == \
        sorted(f"deploy/app-{n}.yaml#Pod/app{n}" for n in range(PODS))


def test_the_gitlab_parallel_example_shards_and_merges(tmp_path: Path) -> None:
    glci = require("gitlab-ci-local")
    require("rsync")
    require("git")
    repo = tmp_path / "project"
    _project(repo)
    pipeline = yaml.safe_load(_example("GitLab CI"))
    pipeline["variables"]["GATES_INSTALL"] = ""
    (repo / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
    _commit(repo)
    proc = subprocess.run([glci, "--force-shell-executor", "--shell-isolation", "--no-color",
                           "--variable", "GITLAB_CI=true"],
                          cwd=repo, capture_output=True, text=True, env=tool_env(), timeout=300, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and log.count(" PASS ") == 5, log[-4000:]
    artifacts = repo / ".gitlab-ci-local" / "artifacts"
    shards = [json.loads(p.read_text()) for p in artifacts.glob("gates-shard*/gates-shard-*.json")]
    assert sorted(s["shard"]["index"] for s in shards) == [1, 2, 3, 4]
    assert sum(len(s["results"]) for s in shards) == PODS
    _merged(json.loads((artifacts / "gates" / "gates-report.json").read_text(encoding="utf-8")))


def test_the_github_matrix_example_shards_and_merges(tmp_path: Path) -> None:
    act = require("act")
    require("git")
    source = copy_action_source(tmp_path / "gates-action")
    repo, keep, stubs = tmp_path / "project", tmp_path / "keep", tmp_path / "stubs"
    keep.mkdir()
    for name, text in (("codeql-action/upload-sarif", UPLOAD_SARIF), ("upload-artifact", UPLOAD_ARTIFACT),
                       ("download-artifact", DOWNLOAD_ARTIFACT)):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "action.yml").write_text(text % {"keep": keep}, encoding="utf-8")
    _project(repo)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "sharded.yml").write_text(as_workflow(_example("GitHub Actions")),
                                                                encoding="utf-8")
    _commit(repo)
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted",
         "--local-repository", f"OWNER/gates@v1={source}",
         "--local-repository", f"github/codeql-action@v3={stubs / 'codeql-action'}",
         "--local-repository", f"actions/upload-artifact@v4={stubs / 'upload-artifact'}",
         "--local-repository", f"actions/download-artifact@v4={stubs / 'download-artifact'}"],
        cwd=repo, capture_output=True, text=True, env=tool_env(), timeout=900, check=False,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and log.count("Job succeeded") == 5, log[-6000:]
    shards = [json.loads(p.read_text()) for p in keep.glob("artifact-gates-shard-*/gates-shard-*.json")]
    assert sorted(s["shard"]["index"] for s in shards) == [1, 2, 3, 4]
    assert sum(len(s["results"]) for s in shards) == PODS
    _merged(json.loads((keep / "artifact-gates-reports" / "gates-report.json").read_text(encoding="utf-8")))
    sarif = json.loads((keep / "upload-sarif-gates.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"


@pytest.mark.parametrize("heading", ["GitHub Actions", "GitLab CI"])
def test_each_example_has_a_merge_job(heading: str) -> None:
    example = _example(heading)
    assert "gates merge" in example or "actions/merge@v1" in example
    assert "4" in example and ("matrix" in example or "parallel: 4" in example)
