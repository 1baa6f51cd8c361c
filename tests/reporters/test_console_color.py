"""`--color auto|always|never` on every command, TERM=dumb, NO_COLOR and FORCE_COLOR: the CLI as a process,
on a real pseudo-terminal where the case is about a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gates.checks import GATES
from tests.conftest import REPO, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

ESC = "\x1b["


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    write(tmp_path, "pod.yaml", wrap("Pod", spec))
    return tmp_path


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of `python -m gates ARGS` written to a pseudo-terminal, as an interactive shell runs it."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GATES_", "GITHUB_")) and k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "CI")}
    environment.update({"PYTHONPATH": str(REPO), "TERM": "xterm-256color", **env})
    main, secondary = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gates", *args], cwd=cwd, stdout=secondary,
                                stderr=subprocess.PIPE, env=environment)
        os.close(secondary)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
        assert proc.stderr is not None
        assert proc.returncode == 1, proc.stderr.read()
    finally:
        os.close(main)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize("command", ["manifests", "run"])  # the fast path and the full CLI
@pytest.mark.parametrize(("flags", "env", "coloured"), [
    ([], {}, True),
    ([], {"TERM": "dumb"}, False),
    ([], {"TERM": "dumb", "FORCE_COLOR": "1"}, True),
    ([], {"NO_COLOR": "1"}, False),
    (["--color", "auto"], {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    (["--color=NEVER"], {}, False),
])
def test_colour_on_a_terminal(repo: Path, command: str, flags: list[str], env: dict[str, str],
                              coloured: bool) -> None:
    out = _on_a_terminal([command, *flags, "pod.yaml"], repo, env)
    assert "pss-privileged" in out
    assert (ESC in out) is coloured, out


@pytest.mark.parametrize("command", ["manifests", "run"])
def test_color_always_colours_a_pipe_even_with_no_color(repo: Path, command: str) -> None:
    run = run_process([command, "--color", "always", "pod.yaml"], cwd=repo, env={"NO_COLOR": "1"})
    assert run.code == 1 and f"{ESC}1mmanifests{ESC}0m" in run.out, run.err
    plain = run_process([command, "pod.yaml"], cwd=repo)
    assert plain.code == 1 and ESC not in plain.out


def test_color_is_a_flag_of_every_command_and_checked(repo: Path) -> None:
    for command in ["run", *GATES]:
        helped = run_process([command, "--help"], cwd=repo)
        assert helped.code == 0 and "--color WHEN" in helped.out, command
        wrong = run_process([command, "--color", "sometimes"], cwd=repo)
        assert wrong.code == 2 and "'sometimes' is not one of 'auto', 'always', 'never'" in wrong.err, command
    fast = run_process(["manifests", "--color", "sometimes", "pod.yaml"], cwd=repo)
    assert fast.code == 2 and "Traceback" not in fast.err
