"""Content cache keyed by digest: what was fetched by digest is fetched at most once.

Small items live in memory (bounded by a byte budget, least recently used out first); with a directory,
everything is also kept on disk across runs, one file per digest, written atomically. Only verified
content goes in, and nothing comes out unverified: a file is hashed every time it is read, over the
very file descriptor that is then read, so a damaged or swapped entry is a miss (deleted and fetched
again), never an answer. Per-digest locks let concurrent callers wait for one download.

Verification never depends on the cache: a directory that cannot be used (read-only, full, under a
regular file, unreadable) turns the cache into memory only for the rest of the run, with one warning.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gates.oci.digest import Digest


class CacheUnavailable(Exception):
    """The cache directory failed mid-write and was given up; the caller fetches without it."""


class DigestCache:
    """A thread-safe cache of verified content by digest, in memory and optionally on disk."""

    def __init__(self, directory: Path | None = None, memory_budget: int = 64 * 1024 * 1024,
                 memory_item_max: int = 4 * 1024 * 1024, warn: Callable[[str], None] | None = None) -> None:
        self._budget = memory_budget
        self._item_max = memory_item_max
        self._memory: OrderedDict[Digest, bytes] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self._key_locks: dict[Digest, threading.Lock] = {}
        self._warn = warn or (lambda message: None)
        self._gave_up = False
        self.configured_directory = directory
        self.directory: Path | None = None
        """Where entries are kept on disk; None when memory only (configured so, or given up)."""
        if directory is not None:
            try:
                _probe(directory)
                self.directory = directory
            except OSError as exc:
                self._give_up(exc)

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
        """The content of `digest`, if cached (from memory, else from disk, verified)."""
        with self._lock:
            data = self._memory.get(digest)
            if data is not None:
                self._memory.move_to_end(digest)
                return data
        path = self.path(digest)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._give_up(exc)
            return None
        if not digest.matches(data):  # a damaged cache file is a miss, never a wrong answer
            self._discard(path)
            return None
        self._remember(digest, data)
        return data

    def put(self, digest: Digest, data: bytes) -> None:
        """Store content already verified against `digest` (on disk only while the disk takes it)."""
        self._remember(digest, data)
        path = self.path(digest)
        if path is not None and not _holds(path, data):
            with contextlib.suppress(CacheUnavailable), self.writer(digest) as out:
                out.write(data)

    def path(self, digest: Digest) -> Path | None:
        """Where `digest` lives on disk (whether or not it is there yet); None without a directory."""
        directory = self.directory
        if directory is None:
            return None
        return directory / digest.algorithm / digest.hex

    def open_verified(self, digest: Digest) -> BinaryIO | None:
        """`digest`'s file, opened and hashed to the end, rewound: None when absent or damaged (a
        damaged file is deleted, so the caller fetches it again)."""
        path = self.path(digest)
        if path is None:
            return None
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._give_up(exc)
            return None
        try:
            hasher = digest.hasher()
            while chunk := fh.read(1024 * 1024):
                hasher.update(chunk)
            fh.seek(0)
        except OSError as exc:
            fh.close()
            self._give_up(exc)
            return None
        if hasher.hexdigest() != digest.hex:
            fh.close()
            self._discard(path)
            return None
        return fh

    @contextlib.contextmanager
    def writer(self, digest: Digest) -> Iterator[BinaryIO]:
        """A file to write `digest`'s content to; it appears under its name only if the block succeeds.

        The caller must have verified the content before leaving the block. When the disk fails
        (full, read-only, gone) the directory is given up and `CacheUnavailable` raised.
        """
        path = self.path(digest)
        if path is None:
            raise CacheUnavailable("this cache has no directory")
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(tmp, path)
        except OSError as exc:
            self._cleanup(tmp)
            self._give_up(exc)
            raise CacheUnavailable(str(exc)) from None
        except BaseException:
            self._cleanup(tmp)
            raise

    def _give_up(self, exc: OSError) -> None:
        """Stop using the directory for the rest of the run, saying so once."""
        with self._lock:
            if self.configured_directory is None or self._gave_up:
                self.directory = None
                return
            self._gave_up = True
            self.directory = None
        where = _printable(str(self.configured_directory))
        reason = _printable(exc.strerror or type(exc).__name__)
        self._warn(f"cache directory {where} cannot be used ({reason}); caching in memory for this run")

    def _discard(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            self._give_up(exc)

    @staticmethod
    def _cleanup(tmp: str | None) -> None:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

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


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at `path` holds exactly `data` (a damaged entry is then written over)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _probe(directory: Path) -> None:
    """Raise OSError unless files can be created, written and removed in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".probe-")
    try:
        os.write(fd, b"gates")
    finally:
        os.close(fd)
        os.unlink(name)


def _printable(text: str) -> str:
    """`text` with control and non-ASCII characters escaped, safe for a terminal line."""
    return "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1] for c in text)
