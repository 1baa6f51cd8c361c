"""`--config-ref REF` / `GATES_CONFIG_REF`: the policy comes from a trusted git ref, the tree from the checkout.

Every test builds a real git repository: `main` holds the strict policy, the pull request's branch
weakens `gates.toml` and waives its own findings. Needs the `git` binary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliRun, run_process
from tests.core.test_waivers import _host_path_daemonset

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")

STRICT = 'inline-waivers = false\nfail-on = "low"\n'
WEAK = 'fail-on = "critical"\n[[waivers]]\nrule = "pss-*"\nreason = "looks fine to me"\n'
WAIVED = {"gates.dev/waive.pss-volume-types": "trust me; expires=2099-12-31"}
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          check=True)
    return done.stdout


def _manifest(annotations: dict[str, str] | None = None) -> str:
    return yaml.safe_dump(_host_path_daemonset(annotations), sort_keys=False)


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """`main`: the strict policy and a DaemonSet with a hostPath; checked out: `pr`, which weakens both."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "gates.toml").write_text(STRICT)
    (repo / "ds.yaml").write_text(_manifest())
    _commit(repo, "strict policy")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "gates.toml").write_text(WEAK)
    (repo / "ds.yaml").write_text(_manifest(WAIVED))
    _commit(repo, "weaken the policy and waive my own findings")
    return repo


def _findings(run: CliRun) -> list[dict[str, Any]]:
    [result] = json.loads(run.out)["results"]
    findings: list[dict[str, Any]] = result["findings"]
    return findings


def _assert_strict(run: CliRun) -> None:
    assert run.code == 1, run.out + run.err
    findings = _findings(run)
    volume = next(f for f in findings if f["rule"] == "pss-volume-types")
    assert volume["waived"] is None and volume["blocking"] is True
    assert any(note.startswith("inline waiver ignored") for note in volume["notes"])
    assert json.loads(run.out)["fail_on"] == "low"


@pytest.mark.parametrize("args", [
    ["manifests", "ds.yaml", "--format", "json", "--config-ref", "main"],       # the fast path
    ["manifests", "ds.yaml", "--format=json", "--config-ref=main"],
    ["run", "--format", "json", "--config-ref", "main"],                        # the full CLI
    ["manifests", "--config-ref", "main", "--format", "json", "--", "ds.yaml"],
])
def test_config_ref_keeps_the_strict_policy_of_main(repo: Path, args: list[str]) -> None:
    weakened = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert weakened.code == 0, weakened.out + weakened.err  # what the pull request would get on its own
    assert all(f["waived"] is not None for f in _findings(weakened))
    _assert_strict(run_process(args, cwd=repo))


def test_gates_config_ref_environment_variable(repo: Path) -> None:
    _assert_strict(run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo,
                               env={"GATES_CONFIG_REF": "main"}))
    assert run_process(["manifests", "ds.yaml"], cwd=repo, env={"GATES_CONFIG_REF": ""}).code == 0  # unset


def test_config_ref_ignores_the_checkouts_file_even_when_the_ref_has_none(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", "gates.toml")
    _commit(repo, "no config: the defaults")
    git(repo, "branch", "-q", "nocfg")
    git(repo, "checkout", "-q", "pr")
    run = run_process(["manifests", "ds.yaml", "--format", "json", "--config-ref", "nocfg"], cwd=repo)
    assert run.code == 0, run.out + run.err  # the defaults: inline waivers on, the PR's gates.toml not read
    assert json.loads(run.out)["fail_on"] == "low"
    volume = next(f for f in _findings(run) if f["rule"] == "pss-volume-types")
    assert volume["waived"]["source"].startswith("ds.yaml:")  # the annotation, not the PR's [[waivers]]


def test_config_ref_finds_the_file_as_discovery_does_and_resolves_paths_in_the_checkout(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "app").mkdir()
    (repo / "deploy" / "gates.toml").write_text(STRICT + '[manifests]\npaths = ["app"]\n')
    (repo / "deploy" / "app" / "ds.yaml").write_text(_manifest())
    _commit(repo, "a config for deploy/")
    git(repo, "checkout", "-q", "-b", "pr2")
    (repo / "deploy" / "gates.toml").unlink()  # the pull request deletes it (the root's weak one would apply)
    (repo / "gates.toml").write_text(WEAK)
    (repo / "deploy" / "app" / "ds.yaml").write_text(_manifest(WAIVED))
    _commit(repo, "drop the deploy policy")
    cwd = repo / "deploy"
    assert run_process(["run"], cwd=cwd).code == 0
    run = run_process(["run", "--format", "json", "--config-ref", "main"], cwd=cwd)
    _assert_strict(run)
    assert json.loads(run.out)["results"][0]["target"].startswith("app/ds.yaml")


def test_config_ref_reads_tool_gates_of_pyproject_and_an_explicit_config(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", "gates.toml")
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.gates]\n' + STRICT)
    (repo / "policy").mkdir()
    (repo / "policy" / "strict.toml").write_text(STRICT)
    _commit(repo, "policy in pyproject and in policy/strict.toml")
    git(repo, "branch", "-q", "trusted")
    git(repo, "checkout", "-q", "pr")
    _assert_strict(run_process(["manifests", "ds.yaml", "--format", "json", "--config-ref", "trusted"], cwd=repo))
    (repo / "policy").mkdir()
    (repo / "policy" / "strict.toml").write_text(WEAK)  # the checkout's copy says otherwise: not read
    _assert_strict(run_process(["manifests", "ds.yaml", "--format", "json", "--config-ref", "trusted",
                                "--config", "policy/strict.toml"], cwd=repo))


@pytest.mark.parametrize(("ref", "problem"), [
    ("-main", "a ref cannot start with '-'"),
    ("--output=/tmp/x", "a ref cannot start with '-'"),
    ("nosuchbranch", "not a commit in this repository"),
    ("main:gates.toml", "not a git ref"),
    ("main\nx", "not a git ref"),
    ("", "empty or surrounded by spaces"),
    (" main", "empty or surrounded by spaces"),
])
def test_bad_refs_are_configuration_errors_in_one_line(repo: Path, ref: str, problem: str) -> None:
    for args in (["manifests", "ds.yaml", f"--config-ref={ref}"], ["run", f"--config-ref={ref}"]):
        run = run_process(args, cwd=repo)
        assert run.code == 2, run.out + run.err
        [line] = run.err.strip().splitlines()
        assert line.startswith("gates: configuration error: --config-ref ") and problem in line


def test_config_at_the_ref_that_is_broken_names_ref_and_path(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "gates.toml").write_text('fail-on = "urgent"\n')
    _commit(repo, "broken")
    git(repo, "branch", "-q", "broken")
    (repo / "gates.toml").unlink()
    (repo / "gates.toml").symlink_to("ds.yaml")
    _commit(repo, "a link")
    git(repo, "branch", "-q", "linked")
    git(repo, "checkout", "-q", "pr")
    run = run_process(["manifests", "ds.yaml", "--config-ref", "broken"], cwd=repo)
    assert run.code == 2 and "broken:gates.toml: fail-on: must be one of" in run.err, run.err
    run = run_process(["manifests", "ds.yaml", "--config-ref", "linked"], cwd=repo)
    assert run.code == 2 and "linked:gates.toml: a symbolic link at linked" in run.err, run.err


def test_outside_a_git_repository_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "ds.yaml").write_text(_manifest())
    run = run_process(["manifests", "ds.yaml", "--config-ref", "main"], cwd=tmp_path,
                      env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert run.code == 2, run.err
    [line] = run.err.strip().splitlines()
    assert "--config-ref main: git rev-parse failed: fatal: not a git repository" in line


TRUSTING = STRICT + ('[signature]\ntrusted-root = "trust/root.json"\n[[signature.policies]]\nimages = ["*"]\n'
                     '[[signature.policies.authorities]]\nkey = "keys/cosign.pub"\n'
                     '[[signature.policies.authorities]]\nnotation-trust-store = "notation/truststore"\n'
                     'notation-trust-policy = "notation/trustpolicy.json"\n'
                     '[patch-level]\nadvisories = "osv"\n')


@pytest.fixture
def trusting(tmp_path: Path) -> Path:
    """`main` names a key, a trusted root and an advisory folder in the repository; checked out: `pr`."""
    repo = tmp_path / "trusting"
    for folder in ("keys", "trust", "osv", "notation/truststore/x509/ca/acme"):
        (repo / folder).mkdir(parents=True)
    (repo / "notation" / "trustpolicy.json").write_text("{}\n")
    (repo / "notation" / "truststore" / "x509" / "ca" / "acme" / "root.pem").write_text("the release root\n")
    git(repo, "init", "-q", "-b", "main")
    (repo / "gates.toml").write_text(TRUSTING)
    (repo / "keys" / "cosign.pub").write_text("the release key\n")
    (repo / "trust" / "root.json").write_text("{}\n")
    (repo / "osv" / "DSA-1.json").write_text("{}\n")
    (repo / "ds.yaml").write_text(_manifest())
    _commit(repo, "policy and the files it trusts")
    git(repo, "checkout", "-q", "-b", "pr")
    return repo


@pytest.mark.parametrize(("change", "key"), [
    (lambda r: (r / "keys" / "cosign.pub").write_text("the attacker's key\n"),
     "signature.policies[1].authorities[1].key: keys/cosign.pub"),
    (lambda r: (r / "trust" / "root.json").write_text('{"mine": 1}\n'), "signature.trusted-root: trust/root.json"),
    (lambda r: (r / "notation" / "trustpolicy.json").write_text('{"mine": 1}\n'),
     "signature.policies[1].authorities[2].notation-trust-policy: notation/trustpolicy.json"),
    (lambda r: (r / "notation" / "truststore" / "x509" / "ca" / "mine").mkdir() or
     (r / "notation" / "truststore" / "x509" / "ca" / "mine" / "root.pem").write_text("the attacker's root\n"),
     "signature.policies[1].authorities[2].notation-trust-store: notation/truststore/x509/ca/mine/root.pem"),
    (lambda r: (r / "osv" / "DSA-1.json").unlink(), "patch-level.advisories: osv/DSA-1.json"),
    (lambda r: (r / "osv" / "DSA-2.json").write_text("{}\n"), "patch-level.advisories: osv/DSA-2.json"),
])
@pytest.mark.parametrize("committed", [True, False])
def test_files_the_trusted_config_names_must_be_unchanged(
    trusting: Path, change: Any, key: str, committed: bool
) -> None:
    run = run_process(["manifests", "ds.yaml", "--config-ref", "main"], cwd=trusting)
    assert run.code == 1, run.err  # unchanged: the scan runs (and fails on the hostPath)
    change(trusting)
    if committed:
        _commit(trusting, "swap a trusted file")
    run = run_process(["manifests", "ds.yaml", "--config-ref", "main"], cwd=trusting)
    assert run.code == 2, run.out + run.err
    [line] = run.err.strip().splitlines()
    assert line.startswith(f"gates: configuration error: main:gates.toml: {key} is not as main has it")
