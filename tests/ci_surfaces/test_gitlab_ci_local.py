"""The GitLab templates, run for real by gitlab-ci-local (shell executor) in a temporary git repo.

The pipeline includes the component twice with different inputs (a passing and a failing job) and
the classic template once, as a consumer's .gitlab-ci.yml would; gates comes from this venv's PATH
(`install: ""`), the image is not pulled, and each job gets its own copy of the repo (isolation).

The repository is hostile too: Python files that would leave a marker if any Python the templates
start imported them (`install: pip` makes the job run pip; PYTHONPATH stands in for a dotenv report
of an earlier job), files named like options, globs and commands that a job lists as its targets,
and a committed symlink and stale report where the reports go.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO
from tests.reporters.conftest import BAD_DEPLOYMENT, GOOD_POD, jsonschema, load_schema

PIPELINE = """\
include:
  - local: ci/component.yml
    inputs:
      job-name: gates-good
      install: ""
      command: manifests
      targets: k8s/good.yaml
  - local: ci/component.yml
    inputs:
      job-name: gates-bad
      install: ""
      targets: k8s
      fail-on: high
  - local: ci/component.yml
    inputs:
      job-name: gates-hostile
      install: pip
      command: manifests
      targets: |
        --config=evil.toml
        -x
        *
        my app.yaml
        $(touch pwned).yaml
  - local: ci/component.yml
    inputs:
      job-name: gates-dash-dash
      install: ""
      targets: k8s/good.yaml
      extra-args: |
        --
        --config=evil.toml
  - local: ci/component.yml
    inputs:
      job-name: gates-not-installed
      install: ""
      targets: k8s/good.yaml
  - local: ci/component.yml
    inputs:
      job-name: gates-key-input
      install: ""
      command: signature
      targets: 127.0.0.1:9/app:1
      key: $(touch pwned) -x.pub
  - local: ci/classic.yml
variables:
  GATES_INSTALL: ""
  GATES_TARGETS: |
    k8s/good.yaml
    k8s/deploy.yaml
  GATES_COMMAND: manifests
  GATES_EXTRA_ARGS: |
    --level
    baseline
gates-not-installed:
  variables:
    PATH: /usr/bin:/bin
gates-hostile:
  variables:
    PYTHONPATH: "."
    PYTHONSTARTUP: sitecustomize.py
"""
HOSTILE_TARGETS = ["--config=evil.toml", "-x", "*", "my app.yaml", "$(touch pwned).yaml"]
EVIL_CONFIG = '[[waivers]]\nrule = "*"\npath = "*"\nreason = "anything goes"\n'
"""Read as `--config=evil.toml`, the first target would waive every finding."""
HOSTILE_PYTHON = ["pip.py", "venv.py", "ensurepip.py", "gates.py", "gates/__init__.py", "sitecustomize.py",
                  "usercustomize.py"]
MARK = "import pathlib, os\npathlib.Path({markers!r}, {name!r}).write_text('ran')\n"


@dataclass(frozen=True)
class Pipeline:
    code: int
    log: str
    artifacts: Path
    markers: Path
    outside: Path


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    glci = require("gitlab-ci-local")
    require("rsync")
    require("git")
    base = tmp_path_factory.mktemp("gitlab")
    repo, markers, outside = base / "project", base / "markers", base / "outside"
    (repo / "k8s").mkdir(parents=True)
    (repo / "ci").mkdir()
    markers.mkdir()
    outside.mkdir()
    (repo / "k8s" / "deploy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (repo / "k8s" / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    (repo / "ci" / "component.yml").write_bytes((REPO / "gitlab" / "templates" / "gates.yml").read_bytes())
    (repo / "ci" / "classic.yml").write_bytes((REPO / "gitlab" / "gates.gitlab-ci.yml").read_bytes())
    (repo / ".gitlab-ci.yml").write_text(PIPELINE.format(markers=markers), encoding="utf-8")
    (repo / "evil.toml").write_text(EVIL_CONFIG, encoding="utf-8")
    for target in HOSTILE_TARGETS:
        (repo / target).write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (repo / "gates").mkdir()
    for name in HOSTILE_PYTHON:
        (repo / name).write_text(MARK.format(markers=str(markers), name=name.replace("/", "_")), encoding="utf-8")
    (repo / "gates.sarif").symlink_to(outside / "written-through.sarif")  # dangling: gates would create it
    (repo / "gates-report.json").write_text('{"outcome": "passed"}', encoding="utf-8")
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["remote", "add", "origin", "https://gitlab.example.invalid/acme/app.git"],
                 ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=env)
    command = [glci, "--force-shell-executor", "--shell-isolation", "--no-color"]
    proc = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=240, check=False)
    return Pipeline(proc.returncode, proc.stdout + proc.stderr, repo / ".gitlab-ci-local" / "artifacts", markers,
                    outside)


def _status(log: str, job: str) -> str:
    for line in log.splitlines():
        words = line.split()
        if len(words) == 2 and words[1] == job and words[0] in ("PASS", "FAIL"):
            return words[0]
    raise AssertionError(f"no verdict for {job} in:\n{log[-4000:]}")


def test_jobs_pass_and_fail_with_their_gates(pipeline: Pipeline) -> None:
    assert _status(pipeline.log, "gates-good") == "PASS"
    assert _status(pipeline.log, "gates-bad") == "FAIL"
    assert _status(pipeline.log, "gates") == "FAIL"  # classic: baseline still forbids privileged
    assert pipeline.code != 0


def test_failed_job_still_keeps_its_reports(pipeline: Pipeline) -> None:
    job = pipeline.artifacts / "gates-bad"
    assert sorted(p.name for p in job.iterdir()) == ["gates-junit.xml", "gates-report.json", "gates.sarif",
                                                     "gl-code-quality-report.json"]
    schema = load_schema("gitlab-codequality-codeclimate.json")
    entries = json.loads((job / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert entries and all(jsonschema.validate(e, schema) is None for e in entries)
    assert {e["location"]["path"] for e in entries} == {"k8s/deploy.yaml"}
    assert "<failure" in (job / "gates-junit.xml").read_text(encoding="utf-8")
    report = json.loads((job / "gates-report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "failed" and report["fail_on"] == "high"


def test_inputs_and_variables_reach_gates(pipeline: Pipeline) -> None:
    good = json.loads((pipeline.artifacts / "gates-good" / "gates-report.json").read_text(encoding="utf-8"))
    assert good["outcome"] == "passed" and [r["target"] for r in good["results"]] == ["k8s/good.yaml#Pod/ok"]
    classic = json.loads((pipeline.artifacts / "gates" / "gates-report.json").read_text(encoding="utf-8"))
    rules = {f["rule"] for r in classic["results"] for f in r["findings"]}
    assert "pss-privileged" in rules and "pss-run-as-non-root" not in rules  # --level baseline applied
    assert json.loads((pipeline.artifacts / "gates" / "gl-code-quality-report.json").read_text(encoding="utf-8"))


def test_no_python_from_the_repository_ever_runs(pipeline: Pipeline) -> None:
    assert _status(pipeline.log, "gates-hostile") == "FAIL"
    assert sorted(p.name for p in pipeline.markers.iterdir()) == []
    assert not list(pipeline.artifacts.parent.rglob("pwned"))  # in no job's copy of the repository


def test_hostile_names_are_targets_taken_as_written(pipeline: Pipeline) -> None:
    """Each line is one target, after `--`: never an option, a glob, several words or a command."""
    report = json.loads((pipeline.artifacts / "gates-hostile" / "gates-report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "failed" and report["summary"]["waived"] == 0
    assert {r["target"].partition("#")[0]: r["outcome"] for r in report["results"]} == dict.fromkeys(
        HOSTILE_TARGETS, "failed")


def test_reports_replace_committed_links_and_stale_reports(pipeline: Pipeline) -> None:
    assert list(pipeline.outside.iterdir()) == []  # nothing written through the committed symlink
    for job in ("gates-good", "gates-hostile"):
        sarif = pipeline.artifacts / job / "gates.sarif"
        assert not sarif.is_symlink() and json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"
    report = json.loads((pipeline.artifacts / "gates-hostile" / "gates-report.json").read_text(encoding="utf-8"))
    assert report["schema"] == "gates/report/v1"  # this run's report, not the committed one


def test_extra_args_cannot_move_the_targets(pipeline: Pipeline) -> None:
    """A `--` among the extra arguments would turn the template's own options into targets: refused."""
    assert _status(pipeline.log, "gates-dash-dash") == "FAIL"
    assert "gates: extra arguments: no '--' please" in pipeline.log
    assert not (pipeline.artifacts / "gates-dash-dash" / "gates-report.json").exists()


def test_a_missing_gates_is_one_line_naming_no_empty_image(pipeline: Pipeline) -> None:
    """The shell executor has no image: the line says so instead of "installed in ;"."""
    assert _status(pipeline.log, "gates-not-installed") == "FAIL"
    lines = [line for line in pipeline.log.splitlines() if "gates is not installed" in line and "echo" not in line]
    assert lines and all(line.endswith("gates is not installed on this runner (shell executor, no image); set the"
                                       " install input") for line in lines), lines


def test_the_key_input_is_one_argument(pipeline: Pipeline) -> None:
    """`key` reaches `gates signature` as one `--key=` argument: a key file of that odd name, never a command."""
    assert _status(pipeline.log, "gates-key-input") == "FAIL"
    assert any("cannot read key " in line and line.endswith("/$(touch pwned) -x.pub: No such file or directory")
               for line in pipeline.log.splitlines()), pipeline.log[-4000:]
    assert not list(pipeline.artifacts.parent.rglob("pwned"))
