"""Finding manifest files in a tree and reading them safely.

The walk leaves out folders that hold tooling or third-party code (dependency folders by name, Python
virtual environments) and sets Helm chart templates aside, since they are Go templates until rendered.
Each folder left out that holds a file named like a manifest is said (a `skipped` note naming the way
to have it judged), never skipped quietly: a pull request can name any folder `vendor`. Only `.git` is
passed over silently, since git itself refuses to commit one. Every folder kustomize would render is
listed too, for the manifest gate to render (or to say, when it cannot). A folder counts as a virtual environment
only when it is one (see `is_virtualenv`), not because it holds a file named `pyvenv.cfg`.
What it cannot read (an unlistable folder, a symlink loop, a tree too deep) or will not open (pipes,
devices, links out of the tree) is reported per path, never skipped quietly, and never costs the rest
of the tree.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from gates.errors import InputError
from gates.record import record

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "bower_components",
        "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".terraform", "vendor",
        "site-packages", ".idea", ".vscode",
    }
)
"""Folder names that hold tooling or third-party code: a walk leaves them out, saying so."""
SILENT_DIRS = frozenset({".git"})
"""Left out without a note: git cannot commit such a folder, so a pull request cannot hide files in one."""
PYVENV_MAX_BYTES = 64 * 1024

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
STDIN = "-"


@record
class SourceFile:
    """A file to scan: its display path and whether the user named it (rather than a walk found it)."""

    path: str
    explicit: bool


@record
class HelmChart:
    """A chart whose templates were not scanned: they must be rendered first."""

    path: str
    templates: int


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize reads a folder's kustomization from."""


@record
class Kustomization:
    """A folder kustomize renders: its patches and generators change the objects of its files, unseen here."""

    folder: str
    file: str


@record
class WalkProblem:
    """A path gates did not read: an `error` when it could not be read, else set aside with a note.

    A walk never loses the rest of the tree to one bad entry: each becomes its own result.
    """

    path: str
    reason: str
    error: bool
    left_out: bool = False
    """A folder the walk did not enter (dependency folder, virtual environment): a note, unless also named."""


@record
class Discovery:
    files: tuple[SourceFile, ...]
    charts: tuple[HelmChart, ...]
    missing: tuple[str, ...]
    """Paths the user named that do not exist: a usage error."""
    problems: tuple[WalkProblem, ...] = ()
    kustomizations: tuple[Kustomization, ...] = ()
    """Folders with a kustomization file, walked or named through it: said, since what applies is its output."""


MAX_DEPTH = 128
"""Folder levels a walk descends below its root; anything deeper is an error (real trees stay far shallower)."""


def _display(path: Path) -> str:
    """Paths as the user would type them: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _excluded(display: str, excludes: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(display, pattern) for pattern in excludes)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop (too many levels of symbolic links)"
    return exc.strerror or type(exc).__name__


def file_type(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def discover(paths: Sequence[str], excludes: Sequence[str] = ()) -> Discovery:
    """Expand files, folders and `-` into the manifest files to read, in a stable order."""
    files: list[SourceFile] = []
    charts: list[HelmChart] = []
    missing: list[str] = []
    problems: list[WalkProblem] = []
    kustomizations: list[Kustomization] = []
    seen: set[str] = set()
    roots: set[str] = set()

    def add(source: SourceFile) -> None:
        if source.path not in seen:
            seen.add(source.path)
            files.append(source)

    for raw in paths:
        if raw == STDIN:
            add(SourceFile(STDIN, explicit=True))
            continue
        path = Path(raw)
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            missing.append(raw)
            continue
        except OSError as exc:
            problems.append(WalkProblem(_display(path), f"cannot read: {_why(exc)}", error=True))
            continue
        if stat.S_ISREG(mode):
            add(SourceFile(_display(path), explicit=True))
            if path.name in KUSTOMIZATION_FILES:
                kustomizations.append(Kustomization(_display(path.parent), _display(path)))
        elif stat.S_ISDIR(mode):
            roots.add(os.path.realpath(path))
            for found in _walk(path, charts, excludes, problems, kustomizations):
                add(SourceFile(found, explicit=False))
        else:  # a pipe or device could block a read forever; stdin is the way to feed a pipe
            hint = PIPE_HINT if stat.S_ISFIFO(mode) else ""
            problems.append(WalkProblem(
                _display(path), f"{file_type(mode)}, not a regular file: not opened{hint}", error=True))
    said = tuple(p for p in problems if not (p.left_out and os.path.realpath(p.path) in roots))
    unique = {k.file: k for k in kustomizations}  # a folder named and walked is said once
    return Discovery(tuple(files), tuple(charts), tuple(missing), said, tuple(unique.values()))


PIPE_HINT = " (feed a pipe on standard input instead: `COMMAND | gates manifests -`)"
_OUTSIDE = "a symlink leading outside the scanned tree: not followed"


def _walk(root: Path, charts: list[HelmChart], excludes: Sequence[str], problems: list[WalkProblem],
          kustomizations: list[Kustomization]) -> Iterator[str]:
    """Depth-first, in name order, without recursion; folder symlinks are never followed (so no loops)."""
    real_root = Path(os.path.realpath(root))
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            problems.append(WalkProblem(_display(folder), f"cannot list this folder: {_why(exc)}", error=True))
            continue
        names = {e.name for e in entries}
        if depth and "pyvenv.cfg" in names and is_virtualenv(folder):
            if _may_hold_manifests(folder):
                problems.append(WalkProblem(_display(folder), left_out("a Python virtual environment"),
                                            error=False, left_out=True))
            continue
        chart = "Chart.yaml" in names
        kustomization = next((n for n in KUSTOMIZATION_FILES if n in names), None)
        if kustomization is not None and not _excluded(_display(folder / kustomization), excludes):
            kustomizations.append(Kustomization(_display(folder), _display(folder / kustomization)))
        subfolders: list[Path] = []
        for entry in entries:
            path = folder / entry.name
            try:
                kind = _kind(entry, path, real_root)
            except FileNotFoundError:
                if entry.name.endswith(MANIFEST_SUFFIXES):
                    problems.append(WalkProblem(_display(path), "cannot read: a dangling symlink", error=True))
                continue  # a dangling link of another name holds nothing to read
            except OSError as exc:  # a loop, or an entry whose type cannot even be told: it may hold manifests
                problems.append(WalkProblem(_display(path), f"cannot read: {_why(exc)}", error=True))
                continue
            if kind in ("dir", "outside-dir") and entry.name in SILENT_DIRS | SKIPPED_DIRS:
                if (entry.name not in SILENT_DIRS and not _excluded(_display(path), excludes)
                        and _may_hold_manifests(path)):
                    problems.append(WalkProblem(_display(path), left_out("a dependency or tooling folder"),
                                                error=False, left_out=True))
                continue
            if kind == "outside-dir" and not _excluded(_display(path), excludes):
                problems.append(WalkProblem(_display(path), _OUTSIDE, error=False))
                continue
            if kind == "dir":
                if _excluded(_display(path), excludes):
                    continue
                if chart and entry.name == "templates":
                    charts.append(HelmChart(_display(folder), _count_files(path)))
                elif depth + 1 > MAX_DEPTH:
                    problems.append(WalkProblem(
                        _display(path), f"nested more than {MAX_DEPTH} folders deep: not walked", error=True))
                else:
                    subfolders.append(path)
                continue
            if kind in ("link-dir", "outside-dir") or not entry.name.endswith(MANIFEST_SUFFIXES):
                continue  # a folder link inside the tree: its target is walked where it is
            display = _display(path)
            if _excluded(display, excludes):
                continue
            if kind == "file":
                yield display
            elif kind == "outside":  # never read outside the tree we were asked to scan
                problems.append(WalkProblem(display, _OUTSIDE, error=False))
            else:
                problems.append(WalkProblem(display, f"{kind}, not a regular file: skipped, never opened",
                                            error=False))
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))


def left_out(what: str) -> str:
    """The note of a folder the walk leaves out: what it was taken for, and how to have it judged."""
    return (f"{what}: not walked; name this folder as a path to scan (on the command line or in the"
            " gate's `paths`) to judge it")


LEFT_OUT_SCAN_ENTRIES = 10_000
"""Entries looked at to tell that a folder left out holds no file a walk would read (then it needs no note)."""


def _may_hold_manifests(folder: Path) -> bool:
    """Whether a folder left out holds, or may hold, a file named like a manifest: then it is said.

    A `__pycache__` of `.pyc` files hides nothing and stays quiet. Too many entries to look at, or a part
    that cannot be listed, counts as holding one (fail closed).
    """
    budget, stack = LEFT_OUT_SCAN_ENTRIES, [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    budget -= 1
                    if budget < 0 or entry.name.endswith(MANIFEST_SUFFIXES):
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
        except OSError:
            return True
    return False


def is_virtualenv(folder: Path) -> bool:
    """Whether `folder` is a Python virtual environment: a regular `pyvenv.cfg` with a `home =` line, and the
    interpreter layout beside it (`bin/python`, `Scripts/python.exe` or `lib/pythonX.Y`).

    Both halves, since either alone is one committed file away: an empty `pyvenv.cfg` must not hide a folder.
    """
    try:
        descriptor = os.open(folder / "pyvenv.cfg", os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return False
            text = handle.read(PYVENV_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return False
    if not any(line.partition("=")[0].strip().lower() == "home" and "=" in line for line in text.splitlines()):
        return False
    if any(os.path.lexists(folder / part) for part in ("bin/python", "Scripts/python.exe")):
        return True
    try:
        with os.scandir(folder / "lib") as listing:
            return any(_PYTHON_LIB.fullmatch(e.name) and e.is_dir(follow_symlinks=False) for e in listing)
    except OSError:
        return False


_PYTHON_LIB = re.compile(r"python\d+\.\d+t?")


def _kind(entry: os.DirEntry[str], path: Path, real_root: Path) -> str:
    """`dir`, `file`, `link-dir`, `outside(-dir)` or what a special file is; OSError when a link is broken."""
    if entry.is_symlink():
        mode = os.stat(path).st_mode
        inside = _inside(path, real_root)
        if stat.S_ISDIR(mode):
            return "link-dir" if inside else "outside-dir"
        if not inside:
            return "outside"
    elif entry.is_dir(follow_symlinks=False):
        return "dir"
    elif entry.is_file(follow_symlinks=False):
        return "file"
    else:
        mode = entry.stat(follow_symlinks=False).st_mode
    return "file" if stat.S_ISREG(mode) else file_type(mode)


def _count_files(folder: Path) -> int:
    """Files under a folder that is set aside unread: only a hint, so unlistable parts count nothing."""
    count, stack = 0, [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        count += 1
        except OSError:
            continue
    return count


def _inside(path: Path, real_root: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(real_root)
    except ValueError:
        return False
    return True


def read_text(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """Read a manifest file as text, refusing binary, oversized and undecodable files.

    The open never blocks: a file swapped for a pipe after the walk is refused, not waited on.
    """
    try:
        data = sys.stdin.buffer.read(max_bytes + 1) if path == STDIN else read_regular(path, max_bytes + 1)
    except NotRegularFile as exc:
        raise InputError(f"{exc}, not a regular file: not read") from None
    except OSError as exc:
        raise InputError(f"cannot read: {_why(exc)}") from None
    if len(data) > max_bytes:
        raise InputError(f"larger than the {max_bytes} byte limit (max-file-size)")
    return decode(data)


class NotRegularFile(Exception):
    """A path that is a folder, pipe, socket or device: looked at, never read."""

    def __init__(self, mode: int) -> None:
        super().__init__(file_type(mode))
        self.mode = mode


def read_regular(path: str | Path, limit: int) -> bytes:
    """At most `limit` bytes of a regular file, for every reader of files a pull request may have written.

    Opened without blocking and checked on the open descriptor, so a pipe or device at the path (perhaps
    swapped in after a walk looked) is `NotRegularFile`, never waited on; reading stops at `limit`, so a
    huge file costs no memory. Other failures are the `OSError` of the open or read.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(mode)
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(descriptor, min(1 << 20, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def decode(data: bytes) -> str:
    """Decode as YAML allows (UTF-8, or UTF-16 with a BOM); say where undecodable bytes sit."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("not valid UTF-16 despite its byte order mark") from None
    if b"\x00" in data[:8192]:
        raise InputError("binary file (contains NUL bytes), not YAML or JSON")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None
