"""Content cache keyed by digest: what was fetched by digest is fetched at most once.

Small items live in memory (bounded by a byte budget, least recently used out first); with a directory,
everything is also kept on disk across runs, one file per digest, written atomically. The directory
is resolved once; below it every folder is checked to be a real one (never a symlink) and opened by
descriptor, and every file is created fresh (O_EXCL) without following a symlink (O_NOFOLLOW), so
registry bytes land nowhere but inside the cache whatever the tree holds. Only verified
content goes in, and nothing comes out unverified: a file is hashed every time it is read, over the
very file descriptor that is then read, so a damaged or swapped entry is a miss (deleted and fetched
again), never an answer. Per-digest locks let concurrent callers wait for one download.

Verification never depends on the cache: a directory that cannot be used (read-only, full, under a
regular file, unreadable, a symlink below the root) turns the cache into memory only for the rest of
the run, with one warning.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
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
                self.directory = _root(directory)
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
        fh = self._open_entry(digest)
        if fh is None:
            return None
        with fh:
            try:
                data = fh.read()
            except OSError as exc:
                self._give_up(exc)
                return None
        if not digest.matches(data):  # a damaged cache file is a miss, never a wrong answer
            self._discard(digest)
            return None
        self._remember(digest, data)
        return data

    def put(self, digest: Digest, data: bytes) -> None:
        """Store content already verified against `digest` (on disk only while the disk takes it)."""
        self._remember(digest, data)
        if self.directory is not None and not self._holds(digest, data):
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
        fh = self._open_entry(digest)
        if fh is None:
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
            self._discard(digest)
            return None
        return fh

    @contextlib.contextmanager
    def writer(self, digest: Digest) -> Iterator[BinaryIO]:
        """A file to write `digest`'s content to; it appears under its name only if the block succeeds.

        The caller must have verified the content before leaving the block. When the disk fails
        (full, read-only, gone) or the folder is not a real one (a symlink), the directory is given up
        and `CacheUnavailable` raised.
        """
        if self.directory is None:
            raise CacheUnavailable("this cache has no directory")
        folder: int | None = None
        tmp: str | None = None
        try:
            folder = self._folder(digest.algorithm, create=True)
            tmp, fd = _create(folder, ".partial-")
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(tmp, digest.hex, src_dir_fd=folder, dst_dir_fd=folder)  # a name is replaced, not followed
            tmp = None
        except OSError as exc:
            self._give_up(exc)
            raise CacheUnavailable(str(exc)) from None
        finally:
            if folder is not None:
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp, dir_fd=folder)
                os.close(folder)

    def _folder(self, algorithm: str, create: bool) -> int:
        """A descriptor of the algorithm's folder under the root: a real directory, never a symlink.

        The root is the resolved directory; the folder is opened relative to it with O_NOFOLLOW, so a
        committed `sha256 -> /elsewhere` symlink is refused (OSError) rather than written through.
        """
        directory = self.directory
        if directory is None:
            raise FileNotFoundError(errno.ENOENT, "this cache has no directory")
        root = _open_dir(str(directory))
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(algorithm, 0o700, dir_fd=root)
            _require_directory(root, algorithm)
            return _open_dir(algorithm, root)
        finally:
            os.close(root)

    def _open_entry(self, digest: Digest) -> BinaryIO | None:
        """`digest`'s regular file, opened without following a symlink or blocking on a pipe; None if
        absent. Anything else at its name is deleted as damaged; a folder that cannot be used gives up."""
        if self.directory is None:
            return None
        try:
            folder = self._folder(digest.algorithm, create=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._give_up(exc)
            return None
        try:
            try:
                fd = os.open(digest.hex, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):  # a symlink, socket or folder
                    _unlink(folder, digest.hex)
                    return None
                self._give_up(exc)
                return None
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                _unlink(folder, digest.hex)
                return None
            return os.fdopen(fd, "rb")
        finally:
            os.close(folder)

    def _holds(self, digest: Digest, data: bytes) -> bool:
        """Whether `digest`'s file holds exactly `data` (a damaged entry is then written over)."""
        fh = self._open_entry(digest)
        if fh is None:
            return False
        with fh:
            try:
                return os.fstat(fh.fileno()).st_size == len(data) and fh.read() == data
            except OSError:
                return False

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

    def _discard(self, digest: Digest) -> None:
        try:
            folder = self._folder(digest.algorithm, create=False)
        except OSError as exc:
            self._give_up(exc)
            return
        try:
            os.unlink(digest.hex, dir_fd=folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._give_up(exc)
        finally:
            os.close(folder)

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


def _root(directory: Path) -> Path:
    """The cache root, created if needed and resolved once (symlinks in the configured path followed here,
    never again); raise OSError unless files can be created, written and removed in it."""
    directory.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(directory))
    descriptor = _open_dir(str(root))
    try:
        name, fd = _create(descriptor, ".probe-")
        try:
            os.write(fd, b"gates")
        finally:
            os.close(fd)
            os.unlink(name, dir_fd=descriptor)
    finally:
        os.close(descriptor)
    return root


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(name: str, parent: int | None = None) -> int:
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _require_directory(parent: int, name: str) -> None:
    """Raise OSError unless `name` under `parent` is a real directory (lstat: a symlink is not one)."""
    mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        raise NotADirectoryError(errno.ENOTDIR, f"{_printable(name)} in it is a symbolic link, not a directory")
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(errno.ENOTDIR, f"{_printable(name)} in it is not a directory")


def _create(folder: int, prefix: str) -> tuple[str, int]:
    """A new file of a fresh name in `folder`: never an existing file, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        name = prefix + secrets.token_hex(8)
        try:
            return name, os.open(name, flags, 0o600, dir_fd=folder)
        except FileExistsError:
            continue


def _unlink(folder: int, name: str) -> None:
    """Delete a damaged entry (a symlink itself, never its target); what cannot be deleted stays a miss."""
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder)


def _printable(text: str) -> str:
    """`text` with control and non-ASCII characters escaped, safe for a terminal line."""
    return "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1] for c in text)
