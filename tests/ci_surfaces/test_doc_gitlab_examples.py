"""Every GitLab example in docs/ci.md, read from the docs and run by gitlab-ci-local, so none can rot.

Each fenced YAML block of the "GitLab CI" section is a consumer's whole `.gitlab-ci.yml`. The test
changes only what points outside this machine, the same way for every block: a `component:` or
`project:` include becomes a `local:` include of this repository's file (inputs kept), `install`
and `GATES_INSTALL` become empty (gates comes from this venv's PATH), the placeholder registry
`registry.example.com` is the test registry, and `origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME` names
a branch the repository has. The signed image carries a Rekor entry of the test's private Sigstore,
whose trusted root a signature job gets as a job of the same name in the pipeline would give it
(`GATES_TRUSTED_ROOT`), the way docs/ci.md overrides an included job. Every job of every example must
pass and write its reports.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_surfaces.registry_images import push_signature_images
from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO
from tests.reporters.conftest import GOOD_POD
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

DOC = REPO / "docs" / "ci.md"
PLACEHOLDER_IMAGE = "registry.example.com/acme/api:1.4.2"


def section(text: str, heading: str) -> str:
    """The text of the `## heading` section, up to the next `## `."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.M | re.S)


def gitlab_examples() -> list[str]:
    return fenced(section(DOC.read_text(encoding="utf-8"), "GitLab CI"), "yaml")


def localised(example: str, image: str) -> str:
    """The example as this machine can run it: local includes, no install, the test registry's image."""
    pipeline: dict[str, Any] = yaml.safe_load(example.replace(PLACEHOLDER_IMAGE, image))
    includes = []
    for item in pipeline["include"]:
        inputs = item.get("inputs")
        # A component project publishes gitlab/templates/; a project include names its file.
        local: dict[str, Any] = {"local": "gitlab/templates/gates.yml" if "component" in item else item["file"]}
        if inputs is not None:
            local["inputs"] = {**inputs, **({"install": ""} if "install" in inputs else {})}
            if inputs.get("command") == "signature":
                pipeline[inputs.get("job-name", "gates")] = {"variables": {"GATES_TRUSTED_ROOT": "trusted_root.json"}}
        includes.append(local)
    pipeline["include"] = includes
    if "GATES_INSTALL" in pipeline.get("variables", {}):
        pipeline["variables"]["GATES_INSTALL"] = ""
    return yaml.safe_dump(pipeline, sort_keys=False)


@dataclass(frozen=True)
class ExampleRun:
    example: str
    code: int
    log: str
    artifacts: Path


def _verdicts(log: str) -> dict[str, str]:
    found = {}
    for line in log.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("PASS", "FAIL"):
            found[words[1]] = words[0]
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer) -> list[ExampleRun]:  # noqa: F811
    glci = require("gitlab-ci-local")
    require("rsync")
    require("git")
    base = tmp_path_factory.mktemp("gitlab-docs")
    sigstore = base / "sigstore"
    images = push_signature_images(registry.host, sigstore)
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    done = []
    for number, example in enumerate(gitlab_examples()):
        repo = base / f"example-{number}"
        for folder in ("deploy", "charts", "gitlab/templates"):
            (repo / folder).mkdir(parents=True)
        (repo / "deploy" / "app.yaml").write_text(GOOD_POD, encoding="utf-8")
        (repo / "charts" / "rendered.yaml").write_text(GOOD_POD.replace("name: ok", "name: chart"),
                                                       encoding="utf-8")
        (repo / "cosign.pub").write_bytes((sigstore / "cosign.pub").read_bytes())
        (repo / "trusted_root.json").write_bytes((sigstore / "trusted_root.json").read_bytes())
        for name in ("gitlab/templates/gates.yml", "gitlab/gates.gitlab-ci.yml"):
            (repo / name).write_bytes((REPO / name).read_bytes())
        (repo / ".gitlab-ci.yml").write_text(localised(example, images.signed), encoding="utf-8")
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"],
                     ["update-ref", "refs/remotes/origin/main", "HEAD"]):
            subprocess.run([*git, *args], cwd=repo, check=True, env=env)
        command = [glci, "--force-shell-executor", "--shell-isolation", "--no-color",
                   "--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main"]
        proc = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=240, check=False)
        done.append(ExampleRun(example, proc.returncode, proc.stdout + proc.stderr,
                               repo / ".gitlab-ci-local" / "artifacts"))
    return done


def test_the_docs_hold_the_gitlab_examples() -> None:
    examples = gitlab_examples()
    assert len(examples) >= 3
    assert sum("component:" in e for e in examples) >= 1 and sum("gates.gitlab-ci.yml" in e for e in examples) >= 1
    assert any(PLACEHOLDER_IMAGE in e and "key:" in e for e in examples)  # the signature example


def test_every_gitlab_example_passes(runs: list[ExampleRun]) -> None:
    for run in runs:
        verdicts = _verdicts(run.log)
        assert verdicts and set(verdicts.values()) == {"PASS"}, f"{run.example}\n{run.log[-4000:]}"
        assert run.code == 0, run.log[-4000:]
        for job in verdicts:
            report = json.loads((run.artifacts / job / "gates-report.json").read_text(encoding="utf-8"))
            assert report["outcome"] == "passed" and report["summary"]["results"]["passed"] >= 1, (job, report)


def test_the_signature_example_verifies_with_its_key(runs: list[ExampleRun]) -> None:
    [run] = [r for r in runs if PLACEHOLDER_IMAGE in r.example]
    report = json.loads((run.artifacts / "gates-signature" / "gates-report.json").read_text(encoding="utf-8"))
    [result] = report["results"]
    assert result["gate"] == "signature" and result["outcome"] == "passed"
    assert any("verified by ECDSA P-256 key" in d and "(cosign.pub)" in d for d in result["details"]), result
