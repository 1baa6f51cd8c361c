"""A one-line progress counter for gates that wait on the network, shown only on a terminal.

CI logs and redirected stderr get nothing (a log full of carriage returns helps nobody); stdout is never
touched, so JSON and JUnit on stdout stay clean. Gates do not print: the CLI hands them `advance`.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from gates.text import visible


class Progress:
    """`label: done/total` rewritten in place on `stream` if it is a TTY; thread safe; a no-op otherwise."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        isatty = getattr(self._stream, "isatty", None)
        self.enabled = bool(total > 1 and callable(isatty) and isatty())
        self._label = label
        self._total = total
        self._done = 0
        self._width = 0
        self._lock = threading.Lock()

    def advance(self, item: str = "") -> None:
        """Count one more item done (`item` is shown, shortened, after the counter)."""
        with self._lock:
            self._done += 1
            if not self.enabled:
                return
            text = f"{self._label}: {self._done}/{self._total}" + (f"  {visible(item)[:60]}" if item else "")
            self._stream.write("\r" + text.ljust(self._width))
            self._stream.flush()
            self._width = max(self._width, len(text))

    def close(self) -> None:
        """Erase the line, so the report that follows starts clean."""
        with self._lock:
            if self.enabled and self._width:
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
            self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
