"""Faults in a folder walk never cost a verdict: each bad entry is its own result, the rest is judged.

Through the CLI as a real process with a timeout (a blocking open would hang the walk). Tests run as
root, which reads chmod-000 folders, so the unreadable-folder cases run the CLI without the two
capabilities that let root ignore file modes (`setpriv`, which must be installed).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gates.targets.files import MAX_DEPTH
from tests.conftest import REPO, CliRun, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

TIMEOUT = 60.0

PRIVILEGED = compliant_pod_spec()
PRIVILEGED["containers"][0]["securityContext"]["privileged"] = True


def _tree(root: Path) -> None:
    """A compliant pod at the top, so every test can check the rest of the tree is still judged."""
    write(root, "good.yaml", wrap("Pod", compliant_pod_spec(), name="good"))


def _bad_pod(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "pod.yaml", wrap("Pod", PRIVILEGED, name="bad"))


def _results(run: CliRun) -> dict[str, dict[str, Any]]:
    assert "Traceback" not in run.out + run.err and "internal error" not in run.out + run.err, run.err
    return {r["target"]: r for r in json.loads(run.out)["results"]}


BOUNDING = "--bounding-set=-dac_override,-dac_read_search"


def _without_root_file_access() -> list[str]:
    """A command prefix under which a chmod-000 folder is really unreadable (skips when none works)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop root's file-access capabilities")
    probe = subprocess.run(["setpriv", BOUNDING, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.decode(errors='replace').strip()}")
    return ["setpriv", BOUNDING]


def _run_unprivileged(prefix: Sequence[str], args: Sequence[str], cwd: Path) -> CliRun:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    environment.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    environment.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run([*prefix, sys.executable, "-m", "gates", *args], cwd=cwd, capture_output=True,
                          text=True, env=environment, timeout=TIMEOUT, check=False)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A tree whose folders cannot be listed (0311, 000) or entered (0644), each holding a privileged pod."""
    _tree(tmp_path)
    modes = {"unlistable": 0o311, "closed": 0o000, "unenterable": 0o644}
    for name in modes:
        _bad_pod(tmp_path / name)
    for name, mode in modes.items():
        (tmp_path / name).chmod(mode)
    yield tmp_path
    for name in modes:
        if (tmp_path / name).exists():
            (tmp_path / name).chmod(0o755)


def test_a_folder_that_cannot_be_listed_is_an_error_not_a_silent_pass(locked: Path) -> None:
    prefix = _without_root_file_access()
    shutil.rmtree(locked / "closed")
    shutil.rmtree(locked / "unenterable")
    run = _run_unprivileged(prefix, ["manifests", ".", "--format", "json"], locked)
    results = _results(run)
    assert run.code == 1, run.err
    assert results["unlistable"]["outcome"] == "error"
    assert results["unlistable"]["error"] == "unlistable: cannot list this folder: Permission denied"
    assert results["good.yaml#Pod/shop/good"]["outcome"] == "passed"


def test_unreadable_and_unenterable_folders_are_errors_each_and_the_rest_is_judged(locked: Path) -> None:
    prefix = _without_root_file_access()
    run = _run_unprivileged(prefix, ["manifests", ".", "closed/pod.yaml", "--format", "json"], locked)
    results = _results(run)
    assert run.code == 1, run.err
    assert {t: r["outcome"] for t, r in results.items()} == {
        "closed": "error", "unlistable": "error", "unenterable/pod.yaml": "error", "closed/pod.yaml": "error",
        "good.yaml#Pod/shop/good": "passed",
    }
    assert results["closed"]["error"] == "closed: cannot list this folder: Permission denied"
    assert results["unenterable/pod.yaml"]["error"] == "unenterable/pod.yaml: cannot read: Permission denied"
    assert results["closed/pod.yaml"]["error"] == "closed/pod.yaml: cannot read: Permission denied"


def test_symlink_loops_are_errors_for_their_path_and_the_rest_is_judged(tmp_path: Path) -> None:
    _tree(tmp_path)
    _bad_pod(tmp_path / "app")
    (tmp_path / "app" / "self.yaml").symlink_to("self.yaml")
    (tmp_path / "app" / "ping.yml").symlink_to("pong.yml")
    (tmp_path / "app" / "pong.yml").symlink_to("ping.yml")
    (tmp_path / "app" / "again").symlink_to(".")  # a folder link: never followed, so never a loop
    run = run_process(["manifests", ".", "--format", "json"], cwd=tmp_path, timeout=TIMEOUT)
    results = _results(run)
    assert run.code == 1, run.err
    for loop in ("app/self.yaml", "app/ping.yml", "app/pong.yml"):
        assert results[loop]["outcome"] == "error"
        assert results[loop]["error"].startswith(f"{loop}: cannot read: a symlink loop")
    assert results["app/pod.yaml#Pod/shop/bad"]["outcome"] == "failed"
    assert results["good.yaml#Pod/shop/good"]["outcome"] == "passed"
    assert len(results) == 5


def _deep(root: Path, levels: int) -> list[Path]:
    """`levels` nested folders `d/d/...` under root, root first."""
    root.mkdir()
    made = [root]
    for _ in range(levels):
        made.append(made[-1] / "d")
        made[-1].mkdir()
    return made


def test_a_tree_deeper_than_the_limit_is_an_error_for_that_folder_and_the_rest_is_judged(tmp_path: Path) -> None:
    _tree(tmp_path)
    folders = _deep(tmp_path / "deep", 1100)
    _bad_pod(folders[-1])
    _bad_pod(folders[MAX_DEPTH - 1])  # the deepest folder still walked (the walk root is one level up)
    try:
        run = run_process(["manifests", ".", "--format", "json"], cwd=tmp_path, timeout=TIMEOUT)
        results = _results(run)
    finally:
        for folder in reversed(folders[1:]):  # shutil.rmtree recurses: too deep for it
            (folder / "pod.yaml").unlink(missing_ok=True)
            folder.rmdir()
    assert run.code == 1, run.err
    too_deep = "deep" + "/d" * MAX_DEPTH
    assert results[too_deep]["outcome"] == "error"
    assert results[too_deep]["error"] == f"{too_deep}: nested more than {MAX_DEPTH} folders deep: not walked"
    assert results["deep" + "/d" * (MAX_DEPTH - 1) + "/pod.yaml#Pod/shop/bad"]["outcome"] == "failed"
    assert results["good.yaml#Pod/shop/good"]["outcome"] == "passed"
    assert len(results) == 3


def _special_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A FIFO, a socket and (where mknod is allowed) a character device, each named like a manifest."""
    os.mkfifo(folder / "pipe.yaml")
    made = {"pipe.yaml": "a pipe (FIFO)"}
    monkeypatch.chdir(folder)  # a socket path must be short: bind relative to the folder
    server = socket.socket(socket.AF_UNIX)
    server.bind("socket.yml")
    server.close()
    made["socket.yml"] = "a socket"
    try:
        os.mknod(folder / "tty.json", stat.S_IFCHR | 0o600, os.makedev(5, 0))  # /dev/tty: a read would wait
        made["tty.json"] = "a character device"
    except PermissionError:
        pass  # no CAP_MKNOD here: pipes and sockets still cover the blocking open
    return made


def test_pipes_sockets_and_devices_in_a_walk_are_skipped_with_a_note_never_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    (tmp_path / "app").mkdir()
    specials = _special_files(tmp_path / "app", monkeypatch)
    run = run_process(["manifests", ".", "--format", "json", "--output", "junit=report.xml"], cwd=tmp_path,
                      timeout=TIMEOUT)
    results = _results(run)
    assert run.code == 0, run.err  # nothing a pipe could hold was ever a manifest: said, not failed
    junit = (tmp_path / "report.xml").read_text(encoding="utf-8")
    for name, what in specials.items():
        result = results[f"app/{name}"]
        assert result["outcome"] == "skipped"
        assert result["error"] == f"app/{name}: {what}, not a regular file: skipped, never opened"
        assert result["error"] in junit
    assert results["good.yaml#Pod/shop/good"]["outcome"] == "passed"


def test_a_pipe_named_on_the_command_line_is_an_error_never_opened(tmp_path: Path) -> None:
    _tree(tmp_path)
    os.mkfifo(tmp_path / "rendered.yaml")
    run = run_process(["manifests", "rendered.yaml", "good.yaml", "--format", "json"], cwd=tmp_path,
                      timeout=TIMEOUT)
    results = _results(run)
    assert run.code == 1, run.err
    assert results["rendered.yaml"]["outcome"] == "error"
    assert results["rendered.yaml"]["error"].startswith("rendered.yaml: a pipe (FIFO), not a regular file: not opened")
    assert results["rendered.yaml"]["error"].endswith(
        "(feed a pipe on standard input instead: `COMMAND | gates manifests -`)")
    assert results["good.yaml#Pod/shop/good"]["outcome"] == "passed"


def test_links_out_of_the_tree_are_set_aside_and_said(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _bad_pod(outside)
    tree = tmp_path / "tree"
    tree.mkdir()
    _tree(tree)
    (tree / "pod.yaml").symlink_to(outside / "pod.yaml")
    (tree / "shared").symlink_to(outside)
    run = run_process(["manifests", ".", "--format", "json"], cwd=tree, timeout=TIMEOUT)
    assert run.code == 0, run.err
    results = _results(run)
    assert {t: r["outcome"] for t, r in results.items()} == {
        "good.yaml#Pod/shop/good": "passed", "pod.yaml": "skipped", "shared": "skipped"}
    for link in ("pod.yaml", "shared"):
        assert results[link]["error"] == f"{link}: a symlink leading outside the scanned tree: not followed"
