"""Write a file so that readers see the old content or the new, never a half-written one, and never a symlink's target.

A report path can be a symlink a pull request committed (to `~/.bashrc`, to `/dev/stdout`, dangling),
and a disk can fill up or the job be killed mid-write. So the content goes to a fresh file in the
target's directory (created with O_EXCL and O_NOFOLLOW, the umask deciding its mode like any other file),
is fsync'd, and is then renamed over the target with `os.replace`: a symlink at the path is replaced,
never followed, and on any failure the temporary file is removed and the old file stays as it was.

The standard library is enough here: `tempfile.mkstemp` would create the file 0600, and the
`atomicwrites` package is archived.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

_ATTEMPTS = 16
_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0))


class NotAFileError(OSError):
    """The path names something other than a regular file (or a symlink): a directory, a device, a FIFO."""


def write_atomic(target: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace `target` with a regular file holding exactly `data`, or its blocks one after another
    (a large report is never one string of bytes); see the module docstring.

    The parent directory must exist. Raises OSError (NotAFileError for a directory, device, FIFO or
    socket at the path, which is left alone) with the temporary file already removed.
    """
    _refuse_special(target)
    directory = target.parent
    temporary, fd = _create(directory)
    try:
        try:
            for block in (data,) if isinstance(data, bytes) else data:
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    _sync_directory(directory)


@contextlib.contextmanager
def staged(target: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """Write a large file in pieces, and check it, before it replaces `target` (as `write_atomic` does).

    Yields the temporary path and the file open for writing. Leaving the block normally fsyncs the file
    and renames it over `target`; an exception leaves `target` as it was and removes the temporary file.
    """
    _refuse_special(target)
    directory = target.parent
    temporary, fd = _create(directory)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield temporary, stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    _sync_directory(directory)


def _refuse_special(target: Path) -> None:
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise NotAFileError(f"{kind}, left as it is")


def _create(directory: Path) -> tuple[Path, int]:
    """A new, empty file in `directory` that nobody else created (O_EXCL, retried on a name clash), open."""
    for _ in range(_ATTEMPTS):
        candidate = directory / f".gates-{os.urandom(8).hex()}.tmp"
        try:
            return candidate, os.open(candidate, _FLAGS, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory} after {_ATTEMPTS} attempts")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # already gone, or the directory vanished: nothing is left to clean
        os.unlink(path)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort, as some file systems refuse to fsync a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
