"""`[registry] deadline` belongs to one invocation: a later `gates` run in the same process (tests, a
program embedding gates) gets a deadline of its own, not what an earlier run left of it."""

from __future__ import annotations

import time

import pytest

from gates import registry_client
from gates.cli import main


def test_an_invocation_starts_its_own_deadline_clock(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(registry_client, "_run_started", time.monotonic() - 10_000)  # a run long over
    assert main(["list"]) == 0
    capsys.readouterr()
    assert registry_client._run_started is None  # the next client starts this invocation's clock
