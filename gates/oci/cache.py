"""Content cache keyed by digest: what was fetched by digest is fetched at most once.

Small items live in memory (bounded by a byte budget, least recently used out first); with a directory,
everything is also kept on disk across runs, one file per digest, written atomically. Only verified
content goes in. Per-digest locks let concurrent callers wait for one download instead of racing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from gates.oci.digest import Digest


class DigestCache:
    """A thread-safe cache of verified content by digest, in memory and optionally on disk."""

    def __init__(self, directory: Path | None = None, memory_budget: int = 64 * 1024 * 1024,
                 memory_item_max: int = 4 * 1024 * 1024) -> None:
        self.directory = directory
        self._budget = memory_budget
        self._item_max = memory_item_max
        self._memory: OrderedDict[Digest, bytes] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self._key_locks: dict[Digest, threading.Lock] = {}
        self._verified: set[Digest] = set()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"DigestCache(directory={str(self.directory) if self.directory else None!r})"

    @contextlib.contextmanager
    def locked(self, digest: Digest) -> Iterator[None]:
        """Hold the lock of one digest, so only one caller fetches it."""
        with self._lock:
            lock = self._key_locks.setdefault(digest, threading.Lock())
        with lock:
            yield

    def get(self, digest: Digest) -> bytes | None:
        """The content of `digest`, if cached (from memory, else from disk)."""
        with self._lock:
            data = self._memory.get(digest)
            if data is not None:
                self._memory.move_to_end(digest)
                return data
        path = self.path(digest)
        if path is None or not path.is_file():
            return None
        data = path.read_bytes()
        if not digest.matches(data):  # a damaged cache file is a miss, never a wrong answer
            path.unlink(missing_ok=True)
            return None
        self._remember(digest, data)
        return data

    def put(self, digest: Digest, data: bytes) -> None:
        """Store content already verified against `digest`."""
        self._remember(digest, data)
        path = self.path(digest)
        if path is not None and not path.exists():
            with self.writer(digest) as out:
                out.write(data)

    def path(self, digest: Digest) -> Path | None:
        """Where `digest` lives on disk (whether or not it is there yet); None without a directory."""
        if self.directory is None:
            return None
        return self.directory / digest.algorithm / digest.hex

    def has_verified_file(self, digest: Digest) -> bool:
        """Whether `digest` is on disk with the right content (checked once per process; a damaged
        file is deleted, so the caller fetches it again)."""
        path = self.path(digest)
        if path is None or not path.is_file():
            return False
        with self._lock:
            if digest in self._verified:
                return True
        hasher = digest.hasher()
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                hasher.update(chunk)
        if hasher.hexdigest() != digest.hex:
            path.unlink(missing_ok=True)
            return False
        with self._lock:
            self._verified.add(digest)
        return True

    @contextlib.contextmanager
    def writer(self, digest: Digest) -> Iterator[BinaryIO]:
        """A file to write `digest`'s content to; it appears under its name only if the block succeeds.

        The caller must have verified the content before leaving the block.
        """
        path = self.path(digest)
        if path is None:
            raise ValueError("this cache has no directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(tmp, path)
            with self._lock:
                self._verified.add(digest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _remember(self, digest: Digest, data: bytes) -> None:
        if len(data) > self._item_max:
            return
        with self._lock:
            if digest in self._memory:
                self._memory.move_to_end(digest)
                return
            self._memory[digest] = data
            self._used += len(data)
            while self._used > self._budget and self._memory:
                _, dropped = self._memory.popitem(last=False)
                self._used -= len(dropped)
