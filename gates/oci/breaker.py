"""A circuit breaker per registry host: a host that keeps timing out stops costing every image.

Without it, each image of a silent registry spends the whole retry budget (four read timeouts, about
four minutes at the defaults) and 300 images take hours. After `threshold` timeouts in a row from one
host (connecting, reading, or a request's total time) the breaker opens for the rest of the run: every
later request to that host fails at once with the same reason, which becomes each image's `error`
line. Any answer from the host (whatever its status) resets the count. A fail-closed shortcut: an open
breaker never lets anything pass, it only stops waiting.
"""

from __future__ import annotations

import threading

from gates.oci.errors import RegistryError


class CircuitBreaker:
    """Counts consecutive timeouts per host; thread safe."""

    def __init__(self, threshold: int = 4) -> None:
        self.threshold = max(1, threshold)
        self._lock = threading.Lock()
        self._in_a_row: dict[str, int] = {}
        self._open: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CircuitBreaker(threshold={self.threshold}, open={sorted(self._open)})"

    def check(self, host: str, what: str) -> None:
        """Raise the host's reason at once if its breaker is open."""
        with self._lock:
            reason = self._open.get(host.lower())
        if reason is not None:
            raise RegistryError(f"{what}: {reason}")

    def timed_out(self, host: str, problem: str) -> None:
        """Note one timeout from `host` (`problem` says which kind)."""
        key = host.lower()
        with self._lock:
            count = self._in_a_row.get(key, 0) + 1
            self._in_a_row[key] = count
            if count >= self.threshold and key not in self._open:
                self._open[key] = (f"{host} did not answer ({problem}, {count} times in a row); "
                                   "not asked again in this run")

    def answered(self, host: str) -> None:
        """Note that `host` answered; its count of timeouts in a row starts again."""
        with self._lock:
            self._in_a_row[host.lower()] = 0
