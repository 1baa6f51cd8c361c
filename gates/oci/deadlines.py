"""Time bounds of registry work: a `Budget` per request (its total time) and the run's deadline.

requests' `timeout` bounds each socket operation only: a server that trickles a byte every half
second never trips it. A request therefore runs under a `Budget`, set for its thread with `bounded()`
and honoured by the connections of `gates.oci.bounded_http`. Light on purpose: no requests import.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_local = threading.local()


class Budget:
    """One request's deadline; `expired` says, when a request failed, whether time ran out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def __repr__(self) -> str:
        return f"Budget(seconds={self.seconds:g}, expired={self.expired})"

    @property
    def expired(self) -> bool:
        """Whether the time is up (so a request that failed now failed for want of time)."""
        return self.remaining() <= 0

    def remaining(self) -> float:
        """Seconds left (zero or below once expired)."""
        return self.deadline - time.monotonic()

    def timeout_error(self) -> TimeoutError:
        return TimeoutError(f"no complete answer within {self.seconds:g} s")


class RunDeadline:
    """The run's deadline (`[registry] deadline`): past it, no request is sent and none waits on."""

    def __init__(self, seconds: float, remaining: float | None = None) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + (seconds if remaining is None else remaining)

    def __repr__(self) -> str:
        return f"RunDeadline(seconds={self.seconds:g})"

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def describe(self) -> str:
        return f"the run deadline of {self.seconds:g} s ([registry] deadline) passed"


@contextlib.contextmanager
def bounded(budget: Budget) -> Iterator[Budget]:
    """Run the requests of this block (on this thread) under `budget`."""
    previous: Budget | None = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = previous


def current_budget() -> Budget | None:
    """The budget of the request this thread is sending, if any."""
    budget: Budget | None = getattr(_local, "budget", None)
    return budget
