"""The configuration as a trusted git ref has it (`--config-ref`, `GATES_CONFIG_REF`).

A pull request can edit `gates.toml` and so weaken the policy it is judged by. With a ref (say the
base branch) the configuration is read from that commit's tree, found as discovery finds it on disk
(from the working directory upward to the repository root), while the tree under test stays the
checkout. git runs without a shell, every path is literal, the ref is passed after `--end-of-options`,
and any problem is a `ConfigError` (exit 2) naming the ref.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gates.errors import ConfigError

GIT_TIMEOUT_SECONDS = 30
"""A git command that takes longer is stuck (a lock, a prompt): the run fails rather than hangs."""


@dataclass(frozen=True)
class RefConfig:
    """A configuration file read from a ref."""

    path: Path
    """Where the file lies in the checkout: relative paths in it are resolved against its folder."""
    label: str
    """`REF:path/in/repo`, for messages."""
    data: bytes
    ref: str
    root: Path
    """The repository's top level."""
    commit: str


def check_ref(ref: str) -> str:
    """Refuse refs git could read as an option, or that cannot be a ref at all."""
    if not ref or ref != ref.strip():
        raise ConfigError(f"--config-ref {ref!r}: empty or surrounded by spaces (an unset CI variable?)")
    if ref.startswith("-"):
        raise ConfigError(f"--config-ref {ref[:100]!r}: a ref cannot start with '-'")
    if any(ord(c) < 32 or ord(c) == 127 for c in ref) or ":" in ref or len(ref) > 1024:
        raise ConfigError(f"--config-ref {ref[:100]!r}: not a git ref (control characters, ':' or too long)")
    return ref


def read_at_ref(ref: str, explicit: Path | None, cwd: Path, names: tuple[str, ...], max_bytes: int,
                is_config: Callable[[str, bytes], bool]) -> RefConfig | None:
    """The configuration file at `ref`: `explicit` (a path in the checkout), else the nearest of `names`.

    `is_config(label, data)` tells whether a `pyproject.toml` configures gates. None when the ref holds
    no configuration (its defaults then apply, whatever the checkout holds).
    """
    check_ref(ref)
    root = Path(_git(["rev-parse", "--show-toplevel"], cwd, ref).decode("utf-8", "replace").strip())
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd, ref,
                  missing="not a commit in this repository (fetch it first, e.g. git fetch origin main)")
    commit_id = commit.decode("ascii", "replace").strip()
    if explicit is not None:
        # Not resolved: a link in the checkout (the tree under test) must not choose which file of the ref is read.
        candidates = [_inside(root, Path(os.path.normpath(cwd.resolve() / explicit)), ref)]
    else:
        here = cwd.resolve()
        folders = [here, *here.parents]
        if root.resolve() not in folders:
            raise ConfigError(f"--config-ref {ref}: {cwd} is not inside the repository {root}")
        folders = folders[: folders.index(root.resolve()) + 1]
        candidates = [_inside(root, folder / name, ref) for folder in folders for name in names]
    entries = _tree_entries(commit_id, candidates, root, ref)
    for candidate in candidates:
        entry = entries.get(candidate)
        label = f"{ref}:{candidate}"
        if entry is None:
            if explicit is not None:
                raise ConfigError(f"{label}: configuration file not found at {ref}")
            continue
        data = _blob(entry, label, root, ref, max_bytes)
        if explicit is None and PurePosixPath(candidate).name != names[0] and not is_config(label, data):
            continue
        return RefConfig(path=root / candidate, label=label, data=data, ref=ref, root=root, commit=commit_id)
    return None


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str
    object_id: str


def check_unchanged(found: RefConfig, files: dict[str, Path]) -> None:
    """Files the trusted configuration names (keys, trusted roots, data) must be as the ref has them.

    Relative paths in the file resolve in the checkout; without this check a pull request could keep the
    policy and swap the key it names. `files` maps the config key to the path; paths outside the
    repository are not the pull request's to change and are left alone.
    """
    inside: dict[str, str] = {}
    for key, path in files.items():
        try:
            inside[Path(os.path.normpath(path)).relative_to(found.root.resolve()).as_posix()] = key
        except ValueError:
            continue
    if not inside:
        return
    paths = list(inside)
    at_ref = _tree_entries(found.commit, paths, found.root, found.ref)
    diff = ["diff", "--no-ext-diff", "--no-textconv", "--no-renames", "--name-only", "-z", found.commit]
    changed = [
        *(rel for rel in paths if rel not in at_ref),
        *_names(_git(["--literal-pathspecs", *diff, "--", *paths], found.root, found.ref)),
        *_names(_git(["--literal-pathspecs", "ls-files", "--others", "-z", "--", *paths], found.root, found.ref)),
    ]
    for rel in changed:
        key = next((k for path, k in inside.items() if rel == path or rel.startswith(path.rstrip("/") + "/")), rel)
        raise ConfigError(f"{found.label}: {key}: {rel} is not as {found.ref} has it: a file the trusted"
                          f" configuration names must come unchanged from {found.ref}")


def _names(out: bytes) -> list[str]:
    return [name.decode("utf-8", "surrogateescape") for name in out.split(b"\0") if name]


def _inside(root: Path, path: Path, ref: str) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ConfigError(f"--config-ref {ref}: {path} is outside the repository {root}, so it cannot be read"
                          f" from {ref}") from None


def _tree_entries(commit: str, paths: list[str], root: Path, ref: str) -> dict[str, _Entry]:
    out = _git(["--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, "--", *paths], root, ref)
    entries: dict[str, _Entry] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, object_id = meta.decode("ascii", "replace").split(" ", 2)
        entries[name.decode("utf-8", "surrogateescape")] = _Entry(mode, kind, object_id)
    return entries


def _blob(entry: _Entry, label: str, root: Path, ref: str, max_bytes: int) -> bytes:
    if entry.mode == "120000":
        raise ConfigError(f"{label}: a symbolic link at {ref}, not a configuration file")
    if entry.kind != "blob":
        what = "a folder" if entry.kind == "tree" else f"a {entry.kind}"
        raise ConfigError(f"{label}: {what} at {ref}, not a configuration file")
    size = int(_git(["cat-file", "-s", entry.object_id], root, ref).strip() or b"0")
    if size > max_bytes:
        raise ConfigError(f"{label}: larger than {max_bytes} bytes, not a configuration file")
    return _git(["cat-file", "blob", entry.object_id], root, ref)


def _git(args: list[str], cwd: Path, ref: str, missing: str | None = None) -> bytes:
    """Run git (no shell, no prompt, no pager); a failure is a one-line `ConfigError` naming the ref."""
    command = next(arg for arg in args if not arg.startswith("-"))
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(["git", "--no-pager", "-c", "core.fsmonitor=false", *args], cwd=cwd, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              check=False)
    except FileNotFoundError:
        raise ConfigError(f"--config-ref {ref}: git is not installed") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"--config-ref {ref}: git {command} took more than {GIT_TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise ConfigError(f"--config-ref {ref}: cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        if missing is not None:
            raise ConfigError(f"--config-ref {ref}: {missing}")
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else "")
        shown = "".join(c if c.isprintable() else "?" for c in reason)[:300]
        raise ConfigError(f"--config-ref {ref}: git {command} failed: {shown or f'exit {done.returncode}'}")
    return done.stdout
