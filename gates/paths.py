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


def git_top_level(directory: Path) -> Path:
    """The nearest of `directory` and its parents holding `.git`, else `directory` itself: where repo-relative
    paths start, and the repository a pull request's files belong to (it cannot commit a `.git`)."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def inside_git_dir(*paths: Path) -> bool:
    """Whether any of `paths` lies inside a `.git` directory (any case: case-insensitive file systems), whose
    config and hooks steer git: no file gates writes may land there."""
    return any(part.lower() == ".git" for path in paths for part in path.parts)
