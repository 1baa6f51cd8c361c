"""The GitHub workflows of docs/ci.md, read from the docs and run by `act`, so an example cannot rot.

Each example of the root action and of the manifests sub-action becomes a workflow file of one
project (a fragment holding only `jobs:` gets `on: push`), run by one `act` invocation. Only what
points outside this machine is mapped, never rewritten: `OWNER/gates` is this repository (act's
`--local-repository`), and the third-party actions the examples use after gates (code scanning's
SARIF upload, the artifact upload) are stand-ins that check and keep the file they are given, so
the test sees what the workflow would upload.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_surfaces.test_doc_gitlab_examples import fenced, section
from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.conftest import REPO
from tests.reporters.conftest import GOOD_POD

DOC = REPO / "docs" / "ci.md"
RUNS = ("Every gate the configuration enables (root action)", "Kubernetes manifests (Pod Security Standards)")
"""The subsections whose examples run here (signature and base-image: test_doc_github_image_examples.py)."""

UPLOAD_SARIF = """\
name: upload-sarif stand-in
description: keeps the SARIF file the workflow uploads, for the test
inputs:
  sarif_file: {required: true, description: file}
  category: {required: false, description: category, default: ""}
runs:
  using: composite
  steps:
    - shell: bash
      env: {SARIF: "${{ inputs.sarif_file }}", CATEGORY: "${{ inputs.category }}", KEEP: "%(keep)s"}
      run: test -s "$SARIF" && cp "$SARIF" "$KEEP/upload-sarif-$CATEGORY.sarif"
"""
UPLOAD_ARTIFACT = """\
name: upload-artifact stand-in
description: keeps the files the workflow uploads, for the test
inputs:
  name: {required: true, description: name}
  path: {required: true, description: paths, one per line}
runs:
  using: composite
  steps:
    - shell: bash
      env: {FILES: "${{ inputs.path }}", NAME: "${{ inputs.name }}", KEEP: "%(keep)s"}
      run: |
        mkdir -p "$KEEP/artifact-$NAME"
        while read -r file; do if [ -n "$file" ]; then cp "$file" "$KEEP/artifact-$NAME/"; fi; done <<EOF
        $FILES
        EOF
"""


def github_examples() -> dict[str, str]:
    text = section(DOC.read_text(encoding="utf-8"), "GitHub Actions")
    found = {}
    for heading in RUNS:
        start = text.index(f"\n### {heading}\n")
        end = text.find("\n### ", start + 1)
        [example] = fenced(text[start:end], "yaml")
        found[heading] = example
    return found


def as_workflow(example: str) -> str:
    workflow: dict[Any, Any] = yaml.safe_load(example)
    workflow.pop(True, None)  # YAML 1.1 reads `on:` as True
    workflow.pop("on", None)
    return yaml.safe_dump({"on": "push", **workflow}, sort_keys=False)


@dataclass(frozen=True)
class ActRun:
    code: int
    log: str
    keep: Path


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory) -> ActRun:
    act = require("act")
    require("git")
    base = tmp_path_factory.mktemp("act-docs")
    source = copy_action_source(base / "gates-action")
    repo, keep, stubs = base / "project", base / "keep", base / "stubs"
    keep.mkdir()
    for name, text in (("codeql-action/upload-sarif", UPLOAD_SARIF), ("upload-artifact", UPLOAD_ARTIFACT)):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "action.yml").write_text(text % {"keep": keep}, encoding="utf-8")
    for folder in ("deploy", "charts", ".github/workflows"):
        (repo / folder).mkdir(parents=True)
    (repo / "deploy" / "app.yaml").write_text(GOOD_POD, encoding="utf-8")
    (repo / "charts" / "rendered.yaml").write_text(GOOD_POD.replace("name: ok", "name: chart"), encoding="utf-8")
    (repo / "gates.toml").write_text('[manifests]\npaths = ["deploy"]\n', encoding="utf-8")
    for number, example in enumerate(github_examples().values()):
        (repo / ".github" / "workflows" / f"example-{number}.yml").write_text(as_workflow(example), encoding="utf-8")
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=env)
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted",
         "--local-repository", f"OWNER/gates@v1={source}",
         "--local-repository", f"github/codeql-action@v3={stubs / 'codeql-action'}",
         "--local-repository", f"actions/upload-artifact@v4={stubs / 'upload-artifact'}"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    return ActRun(proc.returncode, proc.stdout + proc.stderr, keep)


def test_the_docs_hold_the_examples() -> None:
    examples = github_examples()
    assert "uses: OWNER/gates@v1" in examples[RUNS[0]]
    assert "uses: OWNER/gates/actions/manifests@v1" in examples[RUNS[1]]


def test_the_github_examples_run_and_pass(act_run: ActRun) -> None:
    assert act_run.code == 0, act_run.log[-6000:]
    assert act_run.log.count("Job succeeded") == 2, act_run.log[-6000:]
    assert "manifests passed with 0 blocking findings" in act_run.log  # the manifests example's last step
    sarif = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in act_run.keep.glob("upload-sarif-*.sarif")}
    assert sorted(sarif) == ["upload-sarif-gates-manifests.sarif", "upload-sarif-gates.sarif"]
    assert all(doc["version"] == "2.1.0" for doc in sarif.values())
    kept = sorted(p.name for p in (act_run.keep / "artifact-gates-reports").iterdir())
    assert kept == ["gates-junit.xml", "gates-report.json", "gates.sarif"]
    report = json.loads((act_run.keep / "artifact-gates-reports" / "gates-report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "passed" and [r["target"] for r in report["results"]] == ["deploy/app.yaml#Pod/ok"]
