"""Counts read right: "1 finding", "2 findings", in every message gates itself composes."""

from __future__ import annotations

import datetime as dt
import time

from gates.engine import GateJob, run
from gates.model import Outcome, Result
from gates.wording import counted


def test_counted_words() -> None:
    assert [counted(n, "finding") for n in (0, 1, 2)] == ["0 findings", "1 finding", "2 findings"]
    assert counted(1, "more problem") == "1 more problem"
    assert counted(3, "dpkg package") == "3 dpkg packages"
    assert counted(2, "child", "children") == "2 children"


def test_the_engine_measures_the_run() -> None:
    def slow() -> list[Result]:
        time.sleep(0.05)
        return [Result("manifests", "a.yaml", Outcome.PASSED)]

    report = run([GateJob("manifests", slow)], today=dt.date(2030, 1, 1))
    assert report.duration is not None and 0.05 <= report.duration < 5
