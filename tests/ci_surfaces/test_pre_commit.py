"""The pre-commit hooks of .pre-commit-hooks.yaml, run by real pre-commit in a real git repository.

The hooks are taken from the file as written (entry, files, stages, pass_filenames...) into a local
repository's `.pre-commit-config.yaml`, with `language: system` so gates comes from this venv's PATH
instead of pre-commit installing it from PyPI: what is under test is how the hooks are declared.
The repository holds a bad manifest already committed and a configuration with `[output]` files.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.conftest import REPO, run_process
from tests.reporters.conftest import BAD_DEPLOYMENT, GOOD_POD

CONFIG = """\
[output]
json = "reports/gates.json"
junit = "reports/gates-junit.xml"

[manifests]
paths = ["k8s"]
"""
CI_CONFIG = "stages: [test]\ntest:\n  script: [make test]\n"


def _hooks_config() -> str:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    local = [{**hook, "language": "system"} for hook in hooks]
    return yaml.safe_dump({"default_install_hook_types": ["pre-commit", "pre-push"],
                           "repos": [{"repo": "local", "hooks": local}]}, sort_keys=False)


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**tool_env(), "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    return subprocess.run(list(args), cwd=repo, capture_output=True, text=True, env=env, timeout=180, check=False)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(repo, "git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    pre_commit = require("pre-commit")
    require("git")
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    (work / "k8s").mkdir(parents=True)
    (work / "k8s" / "legacy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")  # committed before the hooks
    (work / "k8s" / "pod.yaml").write_text(GOOD_POD, encoding="utf-8")
    (work / "gates.toml").write_text(CONFIG, encoding="utf-8")
    (work / ".gitlab-ci.yml").write_text(CI_CONFIG, encoding="utf-8")
    (work / ".pre-commit-config.yaml").write_text(_hooks_config(), encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["remote", "add", "origin", str(remote)], ["add", "-A"],
                 ["commit", "-qm", "start"]):
        assert _git(work, *args).returncode == 0
    installed = _run(work, pre_commit, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return work


def test_a_comment_only_commit_is_not_blocked_by_an_untouched_file(repo: Path) -> None:
    """Only the files of the commit are checked, a CI config among them passes, and no report is written."""
    (repo / "k8s" / "pod.yaml").write_text("# the web pod\n" + GOOD_POD, encoding="utf-8")
    (repo / ".gitlab-ci.yml").write_text("# CI\n" + CI_CONFIG, encoding="utf-8")
    _git(repo, "add", "-A")
    commit = _git(repo, "commit", "-m", "comments")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    out = commit.stdout + commit.stderr
    assert "gates manifests (Pod Security Standards)" in out and "Passed" in out
    assert "gates run" not in out  # a pre-push hook, not a commit one
    assert not (repo / "reports").exists()
    assert _git(repo, "status", "--porcelain").stdout == ""  # nothing left modified or untracked


def test_a_commit_of_a_bad_manifest_is_blocked(repo: Path) -> None:
    (repo / "k8s" / "new.yaml").write_text(BAD_DEPLOYMENT.replace("name: web", "name: new"), encoding="utf-8")
    (repo / "notes.yaml").write_text("- not: kubernetes\n", encoding="utf-8")  # a list: still only a note
    _git(repo, "add", "-A")
    commit = _git(repo, "commit", "-m", "new")
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert "k8s/new.yaml" in out and "pss-privileged" in out
    assert "k8s/legacy.yaml" not in out and "notes.yaml: " not in out
    assert not (repo / "reports").exists()


def test_the_push_runs_every_gate_on_the_whole_configuration(repo: Path) -> None:
    push = _git(repo, "push", "-q", "origin", "main")
    out = push.stdout + push.stderr
    assert push.returncode != 0, out
    assert "gates run" in out and "k8s/legacy.yaml" in out and "pss-privileged" in out
    assert "gates manifests (Pod Security Standards)" not in out  # a commit hook, not a push one
    assert not (repo / "reports").exists()


@pytest.mark.parametrize("json_format", [["-f", "json"], ["-fjson"]])
def test_the_hook_flags_as_a_process(tmp_path: Path, json_format: list[str]) -> None:
    """--ignore-non-kubernetes: a named non-Kubernetes file passes with a note, a malformed one is still an
    error, stdin is still strict; --no-config-outputs: no [output] file. Both command-line parsers agree
    (`-fjson` is left to the full CLI by the entry point's fast path)."""
    require("git")
    (tmp_path / "gates.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "ci.yml").write_text(CI_CONFIG, encoding="utf-8")
    (tmp_path / "pod.yaml").write_text(GOOD_POD, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "x")
    flags = ["manifests", "--no-config-outputs", "--ignore-non-kubernetes", *json_format, "--"]
    ok = run_process([*flags, "ci.yml", "pod.yaml"], tmp_path)
    assert ok.code == 0, ok.err
    report = json.loads(ok.out)
    assert {r["target"]: r["outcome"] for r in report["results"]} == {"ci.yml": "passed", "pod.yaml#Pod/ok": "passed"}
    [note] = [r["details"] for r in report["results"] if r["target"] == "ci.yml"]
    assert note == ["no Kubernetes object in this file: nothing to judge (--ignore-non-kubernetes)"]
    assert not (tmp_path / "reports").exists()
    broken = run_process([*flags, "broken.yaml"], tmp_path)
    assert broken.code == 1 and json.loads(broken.out)["results"][0]["outcome"] == "error"
    empty = run_process([*flags, "-"], tmp_path, stdin="")
    assert empty.code == 1 and "no Kubernetes object on standard input" in empty.out
    strict = run_process(["manifests", "-f", "json", "--", "ci.yml"], tmp_path)
    assert strict.code == 1 and (tmp_path / "reports" / "gates.json").exists()  # without the flags, as before


def _doc_example() -> str:
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    start = text.index("\n### pre-commit\n")
    [example] = re.findall(r"^```yaml\n(.*?)^```$", text[start:text.index("\n### ", start + 1)], flags=re.M | re.S)
    return str(example)


def test_the_docs_pre_commit_example_installs_and_runs(tmp_path: Path) -> None:
    """docs/ci.md's .pre-commit-config.yaml as written, its repository URL mapped to a git copy of this one
    tagged with the `rev` it names: pre-commit installs gates from it (pip, from PyPI or pip's configured
    index) and runs both hooks at their stages."""
    pre_commit = require("pre-commit")
    require("git")
    example = _doc_example()
    config = yaml.safe_load(example)
    [entry] = config["repos"]
    source = copy_action_source(tmp_path / "gates-source")
    (source / ".pre-commit-hooks.yaml").write_bytes((REPO / ".pre-commit-hooks.yaml").read_bytes())
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "release"], ["tag", entry["rev"]]):
        assert _git(source, *args).returncode == 0
    work = tmp_path / "work"
    (work / "k8s").mkdir(parents=True)
    (work / "k8s" / "pod.yaml").write_text(GOOD_POD, encoding="utf-8")
    (work / "gates.toml").write_text(CONFIG, encoding="utf-8")
    (work / ".pre-commit-config.yaml").write_text(example.replace(entry["repo"], str(source)), encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
        assert _git(work, *args).returncode == 0
    commit_stage = _run(work, pre_commit, "run", "--all-files")
    out = commit_stage.stdout + commit_stage.stderr
    assert commit_stage.returncode == 0, out
    assert re.search(r"gates manifests \(Pod Security Standards\)\.+Passed", out) and "gates run" not in out
    push_stage = _run(work, pre_commit, "run", "--all-files", "--hook-stage", "pre-push")
    out = push_stage.stdout + push_stage.stderr
    assert push_stage.returncode == 0, out
    assert re.search(r"gates run\.+Passed", out) and "gates manifests" not in out
    assert not (work / "reports").exists()
