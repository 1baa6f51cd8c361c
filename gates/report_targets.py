"""Where report files may go: one format per path, not into /dev, /proc or .git, `[output]` inside its
repository, and under CI only inside the workspace.

Report paths come from `--output` and from `[output]` in the configuration, which a pull request can
edit. A path is judged by where it really lands: its directory with symlinks resolved, plus its own
name (a symlink at the name itself is replaced when written, never followed: see `gates.atomic`). So a
committed `reports -> /home/runner` directory symlink is caught here. An `[output]` path always stays
inside the repository of its configuration file (whoever runs gates on a checked-out pull request runs
its configuration too), and under CI (`CI`, `GITHUB_ACTIONS` or `GITLAB_CI` set) a report outside
the workspace (see `workspace`) is refused.
The pipeline can vouch for the paths it names itself on the command line (`--output`) with
`--allow-output-outside-workspace` or `GATES_ALLOW_OUTPUT_OUTSIDE_WORKSPACE=true`; an `[output]` path
never leaves the workspace under CI, and there is deliberately no configuration key to allow it: the
configuration file is part of what a pull request writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from gates.errors import ConfigError, UsageError
from gates.paths import git_top_level, inside_git_dir
from gates.record import record

ALLOW_ENV = "GATES_ALLOW_OUTPUT_OUTSIDE_WORKSPACE"
ALLOW_FLAG = "--allow-output-outside-workspace"
_NOT_FILES = (Path("/dev"),)
"""Directories whose entries are devices or the process's own streams, not report files."""
_NOT_FILE_TREES = (Path("/proc"), Path("/sys"))


@record
class ReportTarget:
    """One requested report file and who asked for it (`--output`, or `gates.toml [output]`)."""

    format: str
    path: Path
    origin: str
    from_command_line: bool
    """Named by the pipeline itself (`--output`), not by the configuration file a pull request can edit."""
    home: Path | None = None
    """For an `[output]` path: the repository of its configuration file, which the report must stay in."""


def shown(path: Path | str) -> str:
    """A path quoted for a message: control characters escaped, never sent to a terminal raw."""
    return repr(str(path))


def under_ci(env: Mapping[str, str]) -> bool:
    """Whether a CI system runs us: `CI` set to anything but false/0, or GitHub Actions, or GitLab CI."""
    ci = env.get("CI", "").strip().lower()
    return ci not in ("", "false", "0", "no") or bool(env.get("GITHUB_ACTIONS")) or bool(env.get("GITLAB_CI"))


def workspace(env: Mapping[str, str]) -> Path:
    """The checkout a CI job works in: `GITHUB_WORKSPACE`, else `CI_PROJECT_DIR`, else the repository holding
    the working directory (its git top level: a pull request cannot add a `.git`), else the working directory.

    A variable naming no directory here is passed over (gitlab-ci-local's shell executor, for one, keeps
    the container's `/builds/...` path).
    """
    for name in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        if env.get(name) and Path(env[name]).is_dir():
            return Path(env[name]).resolve()
    return git_top_level(Path.cwd().resolve())


def allowed_outside(flag: bool, env: Mapping[str, str]) -> bool:
    """The pipeline's explicit permission to write its `--output` files outside the workspace (flag or env)."""
    value = env.get(ALLOW_ENV, "").strip().lower()
    if value in ("", "false", "0", "no"):
        return flag
    if value in ("true", "1", "yes"):
        return True
    raise ConfigError(f"environment variable {ALLOW_ENV}: must be true or false, found {value!r}")


def repository_of(config_file: Path) -> Path:
    """The git top level holding `config_file`, else the file's directory."""
    return git_top_level(config_file.absolute().parent.resolve())


def landing(path: Path) -> Path:
    """Where a report written to `path` really ends up: the directory resolved, the name kept."""
    return path.absolute().parent.resolve() / path.name


def check(targets: Iterable[ReportTarget], env: Mapping[str, str], allow_outside: bool) -> tuple[ReportTarget, ...]:
    """The targets with exact duplicates collapsed; a `UsageError` for any target that must not be written."""
    root = workspace(env) if under_ci(env) else None
    kept: dict[Path, ReportTarget] = {}
    for target in targets:
        where = f"{target.origin} {target.format}={shown(target.path)}"
        if target.path.name in ("", ".", ".."):
            raise UsageError(f"{where}: names a directory, not a report file")
        real = landing(target.path)
        problem = _misplaced(target, real, root, allow_outside)
        if problem:
            raise UsageError(f"{where}: {problem}")
        earlier = kept.get(real)
        if earlier is None:
            kept[real] = target
        elif earlier.format != target.format:
            raise UsageError(f"{where}: the same file as {earlier.origin} {earlier.format}={shown(earlier.path)};"
                             " give each format its own path")
    return tuple(kept.values())


def _misplaced(target: ReportTarget, real: Path, workspace_root: Path | None, allow_outside: bool) -> str | None:
    """Why `target` (landing at `real`) must not be written, or None."""
    if real.parent in _NOT_FILES or any(real.is_relative_to(tree) for tree in _NOT_FILE_TREES):
        return f"{shown(real)} is not a place for a report file (--format prints a report on stdout)"
    if inside_git_dir(real):
        return f"lands at {shown(real)}, inside a .git directory (its config and hooks steer git)"
    if workspace_root is not None and not real.is_relative_to(workspace_root) and not (
            allow_outside and target.from_command_line):
        unless = (f" unless {ALLOW_FLAG} or {ALLOW_ENV}=true allows it" if target.from_command_line
                  else " (only a path given with --output can be allowed out)")
        return (f"lands at {shown(real)}, outside the workspace {shown(workspace_root)}; under CI reports stay"
                f" inside it{unless}")
    if target.home is not None and not real.is_relative_to(target.home):
        return (f"lands at {shown(real)}, outside {shown(target.home)}; an [output] path stays inside the"
                " repository of its configuration file (--output can name any path)")
    return None
