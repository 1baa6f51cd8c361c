"""Progress of the image gates on stderr: a live line on a terminal from the start, plain lines per image
and per retry anywhere else, hostile names escaped, and a broken stderr that never fails a gate."""

from __future__ import annotations

import io
import time

import pytest

from gates.model import Outcome, Result, error_result
from gates.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _passed(target: str) -> Result:
    return Result(gate="base-image", target=target, outcome=Outcome.PASSED)


def test_ci_logs_get_a_line_when_each_image_starts_and_ends_and_per_retry() -> None:
    log, clock = io.StringIO(), _Clock()
    with Progress("base-image", 2, log, clock=clock) as progress:
        progress.start("registry.example/a:1")
        progress.retry("registry.example", 2, 4, "HTTP 503")
        clock.now += 1.54
        progress.finish("registry.example/a:1", "failed")

        def work() -> Result:
            clock.now += 0.25
            return error_result("base-image", "registry.example/b:1", "registry.example/b:1: timeout")

        assert progress.track("registry.example/b:1", work).outcome is Outcome.ERROR
    assert log.getvalue().splitlines() == [
        "base-image: checking registry.example/a:1 (1 of 2)",
        "base-image: waiting for registry.example, attempt 2/4 (HTTP 503)",
        "base-image: registry.example/a:1 failed in 1.5s (1 of 2 done)",
        "base-image: checking registry.example/b:1 (2 of 2)",
        "base-image: registry.example/b:1 error in 0.2s (2 of 2 done)",
    ]
    assert "\r" not in log.getvalue()


def test_an_image_whose_check_raises_still_ends_its_line() -> None:
    log = io.StringIO()

    def boom() -> Result:
        raise RuntimeError("bug")

    with Progress("signature", 1, log) as progress, pytest.raises(RuntimeError):
        progress.track("a:1", boom)
    assert log.getvalue().splitlines()[-1].startswith("signature: a:1 stopped in ")


def test_a_terminal_gets_a_live_line_from_the_start_redrawn_while_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """One image against a registry that does not answer: the line is there before anything finishes,
    its clock moves, the retry shows, and it is erased at the end; never a line feed."""
    monkeypatch.setenv("COLUMNS", "200")
    terminal, clock = _Terminal(), _Clock()
    with Progress("signature", 1, terminal, clock=clock, tick=0.01) as progress:
        # the ticker may already have redrawn it (a loaded machine): every drawing is the same line
        assert set(terminal.getvalue().split("\r")[1:]) == {"signature: 0/1 done  0s"}
        assert terminal.getvalue().startswith("\rsignature: 0/1 done  0s")
        progress.start("ghcr.io/acme/api:1.4")
        clock.now += 7
        deadline = time.monotonic() + 5
        while "7s  ghcr.io/acme/api:1.4" not in terminal.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "\rsignature: 0/1 done  7s  ghcr.io/acme/api:1.4" in terminal.getvalue()
        progress.retry("ghcr.io", 3, 4, "timeout")
        assert terminal.getvalue().endswith("ghcr.io/acme/api:1.4  waiting for ghcr.io, attempt 3/4 (timeout)")
        progress.finish("ghcr.io/acme/api:1.4", "passed")
    text = terminal.getvalue()
    assert "signature: 1/1 done" in text and "\n" not in text
    assert text.endswith("\r" + " " * len(text.split("\r")[-3]) + "\r")  # the widest line, blanked


def test_names_from_a_pull_request_are_escaped_and_never_commands() -> None:
    log, terminal = io.StringIO(), _Terminal()
    hostile = "::error::pwned\x1b]0;title\x07\nfake line\u202e"
    with Progress("base-image", 1, log) as plain, Progress("base-image", 1, terminal, tick=0) as live:
        for progress in (plain, live):
            progress.track(hostile, lambda: _passed(hostile))
            progress.retry("::warning::evil\x1b[2J", 2, 4, "timeout")
    for shown in (log.getvalue(), terminal.getvalue()):
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "\\x1b]0;title\\x07\\nfake line\\u202e" in shown
    assert len(log.getvalue().splitlines()) == 3
    assert all(line.startswith("base-image: ") for line in log.getvalue().splitlines())


class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


def test_a_broken_stderr_ends_the_progress_never_the_gate() -> None:
    with Progress("signature", 2, _Closed()) as progress:
        assert progress.track("a:1", lambda: _passed("a:1")).outcome is Outcome.PASSED
        progress.retry("ghcr.io", 2, 4, "timeout")
        assert not progress.enabled


def test_the_live_line_never_wraps_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapped line would leave one stale row per redraw: the line is cut to the terminal's width."""
    monkeypatch.setenv("COLUMNS", "40")
    terminal = _Terminal()
    with Progress("base-image", 3, terminal, tick=0) as progress:
        progress.start("registry.example.com/a-very-long/repository/name:with-a-long-tag")
        progress.retry("registry.example.com", 2, 4, "connection reset")
    frames = terminal.getvalue().split("\r")
    assert max(len(frame) for frame in frames) <= 39
    assert any(frame.startswith("base-image: 0/3 done  0s  registry.exa") for frame in frames)
