"""Finding manifest files in a tree and reading them safely.

The walk skips what is never a deploy input (VCS folders, virtual environments, dependency folders)
and sets Helm chart templates aside, since they are Go templates until rendered.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gates.errors import InputError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "bower_components",
        "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".terraform", "vendor",
        "site-packages", ".idea", ".vscode",
    }
)
"""Folder names that hold tooling or third-party code, never this repository's manifests."""

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
STDIN = "-"


@dataclass(frozen=True)
class SourceFile:
    """A file to scan: its display path and whether the user named it (rather than a walk found it)."""

    path: str
    explicit: bool


@dataclass(frozen=True)
class HelmChart:
    """A chart whose templates were not scanned: they must be rendered first."""

    path: str
    templates: int


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    charts: tuple[HelmChart, ...]
    missing: tuple[str, ...]
    """Paths the user named that do not exist: a usage error."""


def _display(path: Path) -> str:
    """Paths as the user would type them: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _excluded(display: str, excludes: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(display, pattern) for pattern in excludes)


def discover(paths: Sequence[str], excludes: Sequence[str] = ()) -> Discovery:
    """Expand files, folders and `-` into the manifest files to read, in a stable order."""
    files: list[SourceFile] = []
    charts: list[HelmChart] = []
    missing: list[str] = []
    seen: set[str] = set()

    def add(source: SourceFile) -> None:
        if source.path not in seen:
            seen.add(source.path)
            files.append(source)

    for raw in paths:
        if raw == STDIN:
            add(SourceFile(STDIN, explicit=True))
            continue
        path = Path(raw)
        if path.is_file():
            add(SourceFile(_display(path), explicit=True))
        elif path.is_dir():
            for found in _walk(path, charts, excludes):
                add(SourceFile(found, explicit=False))
        else:
            missing.append(raw)
    return Discovery(tuple(files), tuple(charts), tuple(missing))


def _walk(root: Path, charts: list[HelmChart], excludes: Sequence[str]) -> Iterator[str]:
    for current, dirnames, filenames in os.walk(root):
        here = Path(current)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIPPED_DIRS
            and not (here / d / "pyvenv.cfg").exists()
            and not _excluded(_display(here / d), excludes)
        )
        if "Chart.yaml" in filenames and "templates" in dirnames:
            dirnames.remove("templates")
            templates = sum(len(f) for _, _, f in os.walk(here / "templates"))
            charts.append(HelmChart(_display(here), templates))
        for name in sorted(filenames):
            if not name.endswith(MANIFEST_SUFFIXES):
                continue
            candidate = here / name
            display = _display(candidate)
            if candidate.is_symlink() and not _inside(candidate, root):
                continue  # never read outside the tree we were asked to scan
            if not _excluded(display, excludes):
                yield display


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def read_text(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """Read a manifest file as text, refusing binary, oversized and undecodable files."""
    try:
        if path == STDIN:
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"larger than the {max_bytes} byte limit (max-file-size)")
    return decode(data)


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
