"""The one stream shape the client hands out and the layer reader takes: something with `read(n)`."""

from __future__ import annotations

from typing import Protocol


class Readable(Protocol):
    """A binary stream: `read(n)` returns at most `n` bytes (all with -1), `b""` at the end."""

    def read(self, n: int = -1, /) -> bytes: ...
