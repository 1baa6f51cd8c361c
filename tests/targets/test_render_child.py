"""The renderer's child process, confined: a real Python child stands for a renderer that hangs, floods its
output or reads the environment (behaviour no real kubectl shows on demand)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from gates.targets.render import NOWHERE, RenderError, run


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_child_sees_a_scrubbed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("KUBECONFIG", "/home/runner/.kube/config")
    out = run(_python("import json, os; print(json.dumps(dict(os.environ)))"), tmp_path, 30, 1 << 20)
    env = json.loads(out)
    assert "GITHUB_TOKEN" not in env and env["KUBECONFIG"] != "/home/runner/.kube/config"
    assert env["HOME"] == str(tmp_path) and env["HTTPS_PROXY"] == NOWHERE
    assert list(Path(env["PATH"]).iterdir()) == []  # no git, helm or plugin can be started


def test_a_child_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"did not finish within 0.5 s: stopped"):
        run(_python("import time; time.sleep(30)"), tmp_path, 0.5, 1 << 20)
    assert time.monotonic() - started < 10


def test_a_child_that_floods_its_output_is_stopped(tmp_path: Path) -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    with pytest.raises(RenderError, match=r"printed more than 100000 bytes \(max-file-size\): stopped"):
        run(_python(code), tmp_path, 30, 100_000)


def test_a_failing_child_says_its_error_on_one_line(tmp_path: Path) -> None:
    code = "import sys; sys.stderr.write('error: first\\n  second part\\n' + 'y' * 100000); sys.exit(3)"
    with pytest.raises(RenderError) as caught:
        run(_python(code), tmp_path, 30, 1 << 20)
    message = str(caught.value)
    assert message.startswith(f"{Path(sys.executable).name} failed (exit 3): error: first second part y")
    assert "\n" not in message and len(message) < 1000


def test_a_program_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="could not be started"):
        run([str(tmp_path / "absent")], tmp_path, 30, 1 << 20)
