"""The manifest gate's forked workers: only on cores the process may use, and the same report either way.

Runs gates as a real process on a generated tree above the split's threshold, watching its children
through /proc while it runs. Needs Linux (/proc, CPU affinity) and at least two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gates.checks.manifests.gate import PARALLEL_MIN_FILES
from tests.conftest import REPO
from tests.core.test_signals import _children, _tree, forked_children

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and two usable cores",
)


def _scan(tree: Path, cores: set[int] | None) -> tuple[int, dict[str, object], int]:
    """(exit code, JSON report, most children seen at once) of `gates manifests` on `tree`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env.update(NO_COLOR="1", PYTHONPATH=str(REPO))

    def pin() -> None:
        if cores is not None:
            os.sched_setaffinity(0, cores)

    out, err = tree.parent / "out.json", tree.parent / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:  # files: a full pipe would stall the scan
        proc = subprocess.Popen([sys.executable, "-m", "gates", "manifests", tree.name, "--format", "json"],
                                cwd=tree.parent, env=env, stdout=stdout, stderr=stderr, preexec_fn=pin)
        most = 0
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            most = max(most, len(_children(proc.pid)))
            time.sleep(0.01)
        if proc.poll() is None:
            proc.kill()
            pytest.fail("gates did not finish within 300 s")
    assert err.read_text() == ""
    return proc.returncode, json.loads(out.read_text()), most


def test_a_process_pinned_to_one_core_forks_no_worker_and_reports_the_same(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "deploy", files=PARALLEL_MIN_FILES * 3, docs=4)
    free_code, free_report, free_children = _scan(tree, None)
    pinned_code, pinned_report, pinned_children = _scan(tree, {min(os.sched_getaffinity(0))})
    assert free_children == forked_children() >= 1  # the scan was split where two cores are usable
    assert pinned_children == 0  # and not at all on one
    assert (pinned_code, pinned_report["results"]) == (free_code, free_report["results"]) == (1, free_report["results"])
    assert len(free_report["results"]) == PARALLEL_MIN_FILES * 3 * 4  # type: ignore[arg-type]
