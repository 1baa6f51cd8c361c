"""Network work is never silent, for both image gates, as a real process against the real registry behind
the fault proxy: in a CI log (stderr not a terminal) a line per image start and end and per retry; on a
terminal (stderr on a pseudo-terminal) a live line from the start, with the retries, erased at the end."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from collections.abc import Callable

from tests.conftest import REPO
from tests.faults.conftest import NOW, TIMEOUT, GateUnderFault, Proxies
from tests.oci.conftest import ProxyRequest


def _fail_manifests(count: int, status: int) -> tuple[Callable[[ProxyRequest], bool], list[int]]:
    done = [0]

    def hook(req: ProxyRequest) -> bool:
        if "/manifests/" in req.path and done[0] < count:
            done[0] += 1
            req.respond(status)
            return True
        return False

    return hook, done


def test_a_ci_log_shows_each_image_start_end_and_retry(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _fail_manifests(1, 500)
    outcome = gate.run(proxy)
    assert done == [1] and outcome.faulty["outcome"] == "passed"
    log = outcome.run.err.splitlines()
    faulty, healthy = gate.image(proxy.host), gate.image(gate.registry.host)
    assert f"{gate.gate}: waiting for {proxy.host}, attempt 2/4 (HTTP 500)" in log
    for image in (faulty, healthy):
        started = log.index(next(line for line in log if line.startswith(f"{gate.gate}: checking {image} (")))
        ended = next(i for i, line in enumerate(log) if re.fullmatch(
            rf"{re.escape(gate.gate)}: {re.escape(image)} passed in \d+\.\ds \([12] of 2 done\)", line))
        assert started < ended
    assert len(log) == 5, log  # two starts, two ends, one retry: nothing else


def _run_on_a_terminal(gate: GateUnderFault, images: list[str]) -> tuple[int, str, str]:
    """The gate as a process whose stderr is a pseudo-terminal; returns (exit code, stdout, terminal)."""
    args = ["signature", "--key", str(gate.signers.key_pem), "--trusted-root", str(gate.signers.trusted_root)] \
        if gate.gate == "signature" else ["base-image", "--now", NOW]
    (gate.tmp_path / "gates.toml").write_text("", encoding="utf-8")
    (gate.tmp_path / "docker").mkdir(exist_ok=True)
    (gate.tmp_path / "docker" / "config.json").write_text("{}", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_") and k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO), "COLUMNS": "300", "GATES_CACHE_DIR": "none",
                "DOCKER_CONFIG": str(gate.tmp_path / "docker"), "XDG_DATA_HOME": str(gate.tmp_path / "xdg")})
    leader, follower = pty.openpty()
    seen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed the terminal
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "gates", *args, *images, "--config", "gates.toml",
                               "--format", "json"], cwd=gate.tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=follower, timeout=TIMEOUT, check=False)
    finally:
        os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    return proc.returncode, proc.stdout.decode(), b"".join(seen).decode()


def test_a_terminal_shows_a_live_line_from_the_start(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    """A registry that keeps answering 503: before the first image ends, the line already counts the
    images and shows each retry; it is erased at the end, and stdout is the report alone."""
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, _ = _fail_manifests(10**6, 503)
    code, out, terminal = _run_on_a_terminal(gate, [gate.image(proxy.host), gate.image(gate.registry.host)])
    assert code == 1
    assert [r["outcome"] for r in json.loads(out)["results"]] == ["error", "passed"]
    frames = terminal.split("\r")
    first = next(i for i, frame in enumerate(frames) if frame.startswith(f"{gate.gate}: 0/2 done  0s"))
    waiting = next(i for i, frame in enumerate(frames) if f"waiting for {proxy.host}, attempt 2/4 (HTTP 503)"
                   in frame)
    last_done = next(i for i, frame in enumerate(frames) if frame.startswith(f"{gate.gate}: 2/2 done"))
    assert first < waiting < last_done
    assert any("attempt 4/4 (HTTP 503)" in frame for frame in frames)
    assert "\n" not in terminal and frames[-1] == "" and frames[-2].strip() == ""  # erased, no line left
