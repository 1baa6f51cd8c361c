"""Progress of the gates that wait on the network, on stderr, so a slow or silent registry is never silence.

On a terminal: one live line, drawn from the start and redrawn every second (images done, running, the
time so far, the latest retry), erased when the gate ends. Anywhere else (a CI log, a redirected
stderr): plain lines, one when an image starts and one when it ends (outcome and time), and one per
retry (`waiting for HOST, attempt 2/4`); a log full of carriage returns would help nobody. stdout is
never touched, so JSON and JUnit on stdout stay clean. Gates do not print: the job hands them `track`,
and the registry client `retry`. Image names and hosts come from a pull request and from registry
redirects, so every line goes through `gates.text.for_terminal`.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from gates.text import for_terminal

if TYPE_CHECKING:
    from gates.model import Result

Watch = Callable[[str, Callable[[], "Result"]], "Result"]
"""How a gate lets progress see one image: `watch(image, work)` runs `work` and returns its result."""

_ITEM_CHARS = 60
"""An image name in a line is cut to this many characters (the full name is in the report)."""


class Progress:
    """Progress of one gate over `total` items on `stream` (default stderr); thread safe.

    `clock` and `tick` (seconds between redraws of the live line) are there for tests.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic, tick: float = 1.0) -> None:
        self._stream = stream if stream is not None else sys.stderr
        isatty = getattr(self._stream, "isatty", None)
        self.live = bool(callable(isatty) and isatty())
        """A terminal: one line rewritten in place; otherwise plain lines."""
        self.enabled = total > 0
        self._label = label
        self._total = total
        self._clock = clock
        self._tick = tick
        self._begun = clock()
        self._started = 0
        self._done = 0
        self._running: dict[str, float] = {}
        self._last = ""
        self._waiting = ""
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        with self._lock:
            self._draw()
        if self.live and self.enabled and self._tick > 0:
            self._ticker = threading.Thread(target=self._tick_until_closed, name=f"{self._label}-progress",
                                            daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def track(self, item: str, work: Callable[[], Result]) -> Result:
        """Run `work` for `item`, saying when it starts and how and when it ends (a `Watch`)."""
        self.start(item)
        outcome = "stopped"
        try:
            result = work()
            outcome = result.outcome.value
            return result
        finally:
            self.finish(item, outcome)

    def start(self, item: str) -> None:
        with self._lock:
            self._started += 1
            self._running[item] = self._clock()
            self._waiting = ""
            if not self.live:
                self._line(f"checking {self._shown(item)} ({self._started} of {self._total})")
            self._draw()

    def finish(self, item: str, outcome: str | None = None) -> None:
        """`item` is done (`outcome` as the result says, e.g. `failed`)."""
        with self._lock:
            self._done += 1
            began = self._running.pop(item, None)
            self._last = item
            if not self.live:
                took = f" in {self._clock() - began:.1f}s" if began is not None else ""
                self._line(f"{self._shown(item)} {outcome or 'done'}{took} ({self._done} of {self._total} done)")
            self._draw()

    advance = finish
    """The older name: one more item done."""

    def retry(self, host: str, attempt: int, attempts: int, problem: str) -> None:
        """The registry client is about to try `host` again (attempt `attempt` of `attempts`) after `problem`."""
        text = f"waiting for {for_terminal(host)[:_ITEM_CHARS]}, attempt {attempt}/{attempts}"
        if problem:
            text += f" ({for_terminal(problem)[:_ITEM_CHARS]})"
        with self._lock:
            self._waiting = text
            if not self.live:
                self._line(text)
            self._draw()

    def close(self) -> None:
        """Stop redrawing and erase the live line, so the report that follows starts clean."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self.live and self._width:
                self._write("\r" + " " * self._width + "\r")
            self._width = 0
            self.enabled = False

    def _tick_until_closed(self) -> None:
        while not self._stop.wait(self._tick):
            with self._lock:
                self._draw()

    def _shown(self, item: str) -> str:
        shown = for_terminal(item)
        return shown if len(shown) <= _ITEM_CHARS else shown[: _ITEM_CHARS - 1] + "…"

    def _draw(self) -> None:
        """Rewrite the live line (caller holds the lock); nothing when stderr is not a terminal."""
        if not self.live or not self.enabled:
            return
        parts = [f"{self._label}: {self._done}/{self._total} done", f"{self._clock() - self._begun:.0f}s"]
        if self._running:
            latest = next(reversed(self._running))
            more = len(self._running) - 1
            parts.append(self._shown(latest) + (f" (+{more} running)" if more else ""))
        elif self._last:
            parts.append(self._shown(self._last))
        if self._waiting:
            parts.append(self._waiting)
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        text = "  ".join(parts)[:width]
        self._write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))

    def _line(self, text: str) -> None:
        if self.enabled:
            self._write(f"{self._label}: {text}\n")

    def _write(self, text: str) -> None:
        """Write and flush; a closed or broken stderr ends the progress, never the gate."""
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self.enabled = False
