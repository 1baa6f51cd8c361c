"""`gates install-hook`: a real pre-push hook stopping a real push, with an older hook kept and chained."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gates import hooks
from gates.errors import UsageError
from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO, run_process
from tests.reporters.conftest import BAD_DEPLOYMENT, GOOD_POD


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**tool_env(), "PYTHONPATH": str(REPO)}
    return subprocess.run(["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require("git")
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(remote))
    (work / "k8s").mkdir()
    (work / "k8s" / "pod.yaml").write_text(GOOD_POD, encoding="utf-8")
    (work / "gates.toml").write_text('[manifests]\npaths = ["k8s"]\n', encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "good")
    return work


def test_hook_blocks_a_failing_push_and_allows_a_passing_one(repo: Path) -> None:
    result = run_process(["install-hook"], cwd=repo)
    assert result.code == 0, result.err
    assert "installed" in result.out
    pushed = git(repo, "push", "-q", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    (repo / "k8s" / "bad.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bad")
    refused = git(repo, "push", "-q", "origin", "main")
    assert refused.returncode != 0
    assert "pss-privileged" in refused.stdout + refused.stderr
    assert "failed to push" in refused.stderr


FORCE_PASS = "import pathlib, os\npathlib.Path({markers!r}, {name!r}).write_text('ran')\nos._exit(0)\n"
"""A committed Python file that, if it ever ran inside the hook, would leave a marker and pass the push."""
HOSTILE_LAYOUTS = {
    "gates.py": ["gates.py"],
    "gates-package": ["gates/__init__.py", "gates/__main__.py"],
    "site-hooks": ["sitecustomize.py", "usercustomize.py"],
}


@pytest.mark.parametrize("via", ["interpreter", "path-fallback"])
@pytest.mark.parametrize("layout", sorted(HOSTILE_LAYOUTS))
def test_committed_python_never_runs_in_the_hook(repo: Path, tmp_path: Path, layout: str, via: str) -> None:
    """The hook runs in the pulled tree: its gates.py, gates/ or sitecustomize.py must not replace gates.

    PYTHONPATH=. (a common developer setting) and PYTHONSTARTUP are set too: they must not steer the
    hook, whether it runs the installing interpreter or, that one gone, the `gates` on PATH.
    """
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in HOSTILE_LAYOUTS[layout]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(FORCE_PASS.format(markers=str(markers), name=name.replace("/", "_")),
                                 encoding="utf-8")
    (repo / "startup.py").write_text(FORCE_PASS.format(markers=str(markers), name="startup"), encoding="utf-8")
    (repo / "k8s" / "bad.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    hooks.install(repo, python=sys.executable if via == "interpreter" else str(tmp_path / "gone" / "python"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bad, and Python files that would pass it")
    env = {**tool_env(), "PYTHONPATH": ".", "PYTHONSTARTUP": str(repo / "startup.py")}
    refused = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, capture_output=True, text=True,
                             env=env, timeout=120, check=False)
    assert sorted(p.name for p in markers.iterdir()) == []
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "pss-privileged" in refused.stdout + refused.stderr  # the real gates judged the push


def test_existing_hook_is_chained_with_its_stdin_and_can_veto(repo: Path) -> None:
    hook_dir = repo / ".git" / "hooks"
    seen = repo / "seen.txt"
    old = hook_dir / "pre-push"
    old.write_text(f'#!/bin/sh\necho "$1 $2" > {seen}\ncat >> {seen}\nexit "${{OLD_HOOK_EXIT:-0}}"\n',
                   encoding="utf-8")
    old.chmod(0o755)
    message = hooks.install(repo, python=sys.executable)
    assert "runs first" in message
    assert (hook_dir / hooks.CHAINED).read_text(encoding="utf-8").startswith("#!/bin/sh\necho")
    pushed = git(repo, "push", "-q", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    lines = seen.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("origin ")
    assert lines[1].startswith("refs/heads/main ")  # the refs git wrote to the hook's stdin reached it
    (repo / "x").write_text("x", encoding="utf-8")
    git(repo, "add", "x")
    git(repo, "commit", "-qm", "x")
    env_veto = {**os.environ, "OLD_HOOK_EXIT": "7"}
    vetoed = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, capture_output=True, text=True,
                            env={**env_veto, "PYTHONPATH": str(REPO)}, timeout=120, check=False)
    assert vetoed.returncode != 0  # the chained hook's failure stops the push before gates runs


def test_reinstall_updates_and_uninstall_restores(repo: Path) -> None:
    hook_dir = repo / ".git" / "hooks"
    (hook_dir / "pre-push").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    hooks.install(repo, python=sys.executable)
    assert "updated" in hooks.install(repo, python=sys.executable)
    assert not (hook_dir / "pre-push.chained.chained").exists()
    mode = (hook_dir / "pre-push").stat().st_mode
    assert mode & stat.S_IXUSR
    assert "restored" in hooks.uninstall(repo)
    assert (hook_dir / "pre-push").read_text(encoding="utf-8") == "#!/bin/sh\nexit 0\n"
    assert not (hook_dir / hooks.CHAINED).exists()


def test_core_hooks_path_is_honoured(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    hooks.install(repo, python=sys.executable)
    assert hooks.MARKER in (repo / ".githooks" / "pre-push").read_text(encoding="utf-8")


def test_outside_a_repository(tmp_path: Path) -> None:
    require("git")
    with pytest.raises(UsageError, match="not a git repository"):
        hooks.install(tmp_path)
    result = run_process(["install-hook"], cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert result.code == 2 and "not a git repository" in result.err
