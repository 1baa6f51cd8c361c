"""How gates shows a path to people: relative to the working directory when it lies inside it."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path) -> str:
    """`path` (symlinks resolved) relative to the working directory, else as given; `.` for the cwd.

    The result still opens the file: bytes of a name that are not UTF-8 stay surrogate escapes
    (Python's file-system encoding). Reporters show them escaped (`\\xff`, see `gates.text`).
    """
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except (ValueError, OSError):
        return str(path)
