"""A forked worker of a split scan that fails or dies makes the run an internal error (exit 3), never a
pass with its share's results missing.

Each case runs gates as a real process whose `_scan_file` is patched (before the fork, so the children
inherit it) to fail in one way on the walk's last file, which the last child scans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gates.checks.manifests.gate import PARALLEL_MIN_FILES
from tests.conftest import REPO
from tests.core.test_signals import _alive_in_session, _tree

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs fork and two usable cores",
)

FILES = PARALLEL_MIN_FILES + 8
LAST = f"deploy/app-{(FILES - 1) // 100:02d}/pods-{FILES - 1}.yaml"

PATCHED = """
import os, signal, sys
from gates.checks.manifests import gate

class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("no pickling")

def fail(how):
    if how == "raise":
        raise ValueError("broken on purpose")
    if how == "unpicklable":
        raise Unpicklable("lambda inside", lambda: None)
    if how == "exit":
        os._exit(0)  # ends before sending anything, with a clean status
    if how == "status":
        os._exit(5)
    if how == "signal":
        os.kill(os.getpid(), signal.SIGKILL)

scan_file = gate._scan_file
target, how = sys.argv[1:]

def patched(source, options, plan):
    if source.path == target:
        fail(how)
    return scan_file(source, options, plan)

gate._scan_file = patched
sys.argv = ["gates", "manifests", "deploy", "--format", "json"]
from gates.entry import run
run()
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("split") / "deploy", files=FILES, docs=1)


def _run(tree: Path, how: str) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env.update(NO_COLOR="1", GATES_CACHE_DIR="none", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", PATCHED, LAST, how], cwd=tree.parent, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    out, err = proc.communicate(timeout=120)
    assert _alive_in_session(proc.pid) == []  # no child left behind
    return proc.returncode, json.loads(out), err


@pytest.mark.parametrize(("how", "said"), [
    ("raise", "ValueError: broken on purpose"),
    ("unpicklable", "RuntimeError: Unpicklable: ('lambda inside', <function"),
    ("exit", "ended without sending all its results"),
    ("status", "exited with status 5"),
    ("signal", "was killed by SIGKILL"),
])
def test_a_failing_or_dying_worker_is_an_internal_error(tree: Path, how: str, said: str) -> None:
    code, report, err = _run(tree, how)
    assert code == 3
    assert report["outcome"] == "error"
    [result] = report["results"]
    assert result["error"].startswith("internal error in the manifests gate: ")
    assert said in result["error"]
    assert "internal error" in err


def test_the_same_run_unpatched_reports_every_file(tree: Path) -> None:
    code, report, err = _run(tree, "none")
    assert (code, err) == (1, "")
    targets = [r["target"] for r in report["results"]]
    assert len(targets) == FILES
    assert targets[-1].startswith(f"{LAST}#")
