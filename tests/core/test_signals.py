"""SIGINT and SIGTERM end every command the same way: exit 130 or 143, one stderr line, no orphans.

Each test runs gates as a real process in its own session, signals it mid-work (a split scan of a
generated tree, a read from a silent server or an open stdin), and then checks what a CI step sees: the
exit code, stderr, end of file on stdout, and no process of the session left alive (from /proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

POD = """apiVersion: v1
kind: Pod
metadata:
  name: pod-{n}
  namespace: team
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.{n}
    securityContext:
      privileged: true
"""


def _tree(root: Path, files: int = 1200, docs: int = 8) -> Path:
    """A tree big enough that the manifest gate forks its workers and keeps them busy for seconds."""
    for f in range(files):
        folder = root / f"app-{f // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"pods-{f}.yaml").write_text("---\n".join(POD.format(n=f * docs + d) for d in range(docs)))
    return root


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(state, ppid, session) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[3])


def _processes() -> Iterator[tuple[int, str, int, int]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            yield int(entry), *stat


def forked_children() -> int:
    """The children of a split scan: one per usable core (at most eight) but the one the parent scans on."""
    return min(len(os.sched_getaffinity(0)), 8) - 1


def _children(pid: int) -> list[int]:
    return [p for p, state, ppid, _ in _processes() if ppid == pid and state != "Z"]


def _alive_in_session(session: int) -> list[int]:
    """Processes of the session still running (a zombie is dead, only not yet reaped)."""
    return [p for p, state, _, sid in _processes() if sid == session and state != "Z"]


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _start(args: list[str], cwd: Path, stdin: int | None = None,
           extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env.update(NO_COLOR="1", GATES_CACHE_DIR="none", PYTHONPATH=str(REPO), **(extra_env or {}))
    return subprocess.Popen([sys.executable, "-m", "gates", *args], cwd=cwd, env=env, text=True, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str, list[int]]:
    """Read both pipes to end of file (within a bound), then list the session's survivors."""
    try:
        out, err = proc.communicate(timeout=60)
        deadline = time.monotonic() + 5  # a worker killed with its parent takes a moment to be gone
        while (alive := _alive_in_session(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc.returncode, out, err, alive
    except subprocess.TimeoutExpired:
        pytest.fail("no end of file on gates' stdout/stderr: a process of its session still holds them")
    finally:
        _kill_session(proc)


def _kill_session(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def pooled(tmp_path: Path) -> Path:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two usable cores: the manifest gate forks no worker on one")
    return _tree(tmp_path / "deploy")


def _interrupt_pooled_scan(args: list[str], cwd: Path, signum: int, group: bool = False
                           ) -> tuple[int, str, str, list[int]]:
    proc = _start(args, cwd)
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= forked_children(), 120, "the manifest gate's worker processes")
        if group:
            os.killpg(proc.pid, signum)  # what a terminal's Ctrl-C does: the whole foreground group
        else:
            proc.send_signal(signum)  # what a CI runner's cancel or `timeout` does: the main process
    except BaseException:
        _kill_session(proc)
        raise
    return _finish(proc)


@pytest.mark.parametrize("command", ["manifests", "run"])  # the typer-free fast path, and the full CLI
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_pooled_scan_ends_the_run_with_one_line_and_no_orphans(
        pooled: Path, tmp_path: Path, command: str, signum: int) -> None:
    args = [command, str(pooled), "--format", "json", "--output", f"junit={tmp_path / 'junit.xml'}"]
    code, out, err, alive = _interrupt_pooled_scan(args, tmp_path, signum)
    name = signal.Signals(signum).name
    assert code == 128 + signum
    assert err.splitlines() == [f"gates: interrupted by {name}: no verdict"]
    assert alive == []
    report = json.loads(out)
    assert report["outcome"] == "error"
    assert [r["error"] for r in report["results"]] == [
        f"the run was interrupted by {name} before the gates finished: no verdict"]
    junit = (tmp_path / "junit.xml").read_text()
    assert 'errors="1"' in junit and "interrupted" in junit


def test_ctrl_c_to_the_process_group_gives_one_line_not_one_traceback_per_worker(
        pooled: Path, tmp_path: Path) -> None:
    code, _, err, alive = _interrupt_pooled_scan(["manifests", str(pooled)], tmp_path, signal.SIGINT, group=True)
    assert code == 130
    assert err.splitlines() == ["gates: interrupted by SIGINT: no verdict"]
    assert alive == []


def test_workers_die_with_a_parent_killed_outright(pooled: Path, tmp_path: Path) -> None:
    """SIGKILL leaves gates no chance to clean up: the kernel must end the workers (PR_SET_PDEATHSIG)."""
    code, out, _, alive = _interrupt_pooled_scan(["manifests", str(pooled)], tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert out == ""
    assert alive == []


def _blocked_in_pipe_read(pid: int) -> bool:
    try:
        return "pipe" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def test_sigint_while_reading_stdin_on_the_fast_path(tmp_path: Path) -> None:
    """`helm template . | gates manifests -` where helm hangs, and the user presses Ctrl-C."""
    read_end, write_end = os.pipe()
    try:
        proc = _start(["manifests", "-"], tmp_path, stdin=read_end)
    finally:
        os.close(read_end)
    try:
        os.write(write_end, POD.format(n=1).encode())  # stdin stays open: gates waits for the rest
        _wait_for(lambda: _blocked_in_pipe_read(proc.pid), 60, "gates to block reading stdin")
        proc.send_signal(signal.SIGINT)
        code, out, err, alive = _finish(proc)
    finally:
        os.close(write_end)
    assert code == 130
    assert err.splitlines() == ["gates: interrupted by SIGINT: no verdict"]
    assert "interrupted by SIGINT" in out
    assert alive == []


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A TCP server that accepts connections and never answers: a hung registry or proxy."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(60)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("gate", ["base-image", "signature"])
def test_sigterm_while_images_wait_on_a_silent_registry(tmp_path: Path, silent_server: socket.socket,
                                                        gate: str) -> None:
    """Three images, so the gate's thread pool runs; each thread sits in a read the registry never answers."""
    host = f"127.0.0.1:{silent_server.getsockname()[1]}"
    images = [f"{host}/shop/app{i}:1" for i in range(3)]
    key = tmp_path / "cosign.pub"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    extra = ["--key", str(key)] if gate == "signature" else []
    proc = _start([gate, *images, *extra], tmp_path)
    try:
        connection, _ = silent_server.accept()  # gates is up, handlers installed, and waiting on us
    except BaseException:
        _kill_session(proc)
        raise
    with connection:
        proc.send_signal(signal.SIGTERM)
        code, out, err, alive = _finish(proc)
    assert code == 143
    *progress, last = err.splitlines()
    assert last == "gates: interrupted by SIGTERM: no verdict"
    assert all(line.startswith(f"{gate}: ") and "Traceback" not in line for line in progress), progress
    assert "interrupted by SIGTERM" in out
    assert alive == []


def test_sigterm_while_data_update_waits_on_the_network(tmp_path: Path, silent_server: socket.socket) -> None:
    proxy = f"http://127.0.0.1:{silent_server.getsockname()[1]}"
    proc = _start(["data", "update", "--file", "distro-eol.json", "--output", str(tmp_path / "eol.json")], tmp_path,
                  extra_env={"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""})
    try:
        connection, _ = silent_server.accept()
    except BaseException:
        _kill_session(proc)
        raise
    with connection:
        proc.send_signal(signal.SIGTERM)
        code, _, err, alive = _finish(proc)
    assert code == 143
    assert err.splitlines() == ["gates: interrupted by SIGTERM: no verdict"]
    assert not (tmp_path / "eol.json").exists()
    assert alive == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowing, on purpose
def test_a_signal_whose_exception_python_swallowed_still_ends_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Python prints and drops an exception raised in a finaliser (or an at-fork hook): the verdict must
    not survive the signal that raised it."""
    from gates import interrupts, runner

    class SignalledWhileFinalised:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, inside the finaliser
            sum(range(1000))

    def command() -> int:
        SignalledWhileFinalised()  # finalised at once, the exception swallowed
        return runner.EXIT_PASSED

    with interrupts.trapped():
        code = runner.guarded(command, verbose=False)
    assert code == 143
    assert capsys.readouterr().err.splitlines()[-1] == "gates: interrupted by SIGTERM: no verdict"
    assert signal.getsignal(signal.SIGTERM) is not interrupts._raise_interrupted  # restored after the run
