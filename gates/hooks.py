"""`gates install-hook`: a git pre-push hook that runs `gates run` before anything leaves the machine.

Like the pre-commit hooks, it writes no `[output]` report files (`--no-config-outputs`): a hook must
leave the working tree as it was.

A hook already in place is never lost: it is renamed to `pre-push.chained` and the new hook runs it
first, with the same arguments and the same refs on stdin, stopping the push if it fails. The hook
calls gates through the interpreter that installed it, so it works from GUI clients and shells
where the virtualenv is not on PATH, and falls back to `gates` on PATH once that interpreter is gone.

The hook runs in the repository, whose files are whatever was pulled: `python -I -m gates` keeps the
working directory off sys.path (else a committed gates.py or gates/ would run instead of gates, and
could pass anything), and the PYTHON* variables (PYTHONPATH=. is a common developer setting) are
dropped before gates starts either way.
"""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from pathlib import Path

from gates.errors import UsageError

HOOK = "pre-push"
CHAINED = "pre-push.chained"
MARKER = "# installed by `gates install-hook` (gates-hook v1)"

_TEMPLATE = """#!/bin/sh
{marker}
# Runs the hook that was here before (if any), then `gates run`. Skip once with `git push --no-verify`;
# remove with `gates install-hook --uninstall`.
hooks_dir=$(dirname "$0")
refs=$(cat)
if [ -x "$hooks_dir/{chained}" ]; then
    if [ -n "$refs" ]; then
        printf '%s\\n' "$refs" | "$hooks_dir/{chained}" "$@" || exit $?
    else
        "$hooks_dir/{chained}" "$@" </dev/null || exit $?
    fi
fi
# No PYTHONPATH, PYTHONHOME, PYTHONSTARTUP... may point gates at the repository's own Python files.
for name in $(env | sed -n 's/^\\(PYTHON[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset "$name"; done
# --no-config-outputs: a hook leaves the working tree as it was, no [output] report files in it.
if [ -x {python} ]; then
    exec {python} -I -m gates run --no-config-outputs
fi
exec gates run --no-config-outputs
"""


def hooks_dir(cwd: Path) -> Path:
    """The repository's hooks directory, honouring `core.hooksPath` and worktrees."""
    try:
        out = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=cwd, capture_output=True,
                             text=True, check=False)
    except FileNotFoundError:
        raise UsageError("install-hook needs git on PATH") from None
    if out.returncode != 0:
        raise UsageError(f"not a git repository: {cwd} ({out.stderr.strip() or 'git rev-parse failed'})")
    path = Path(out.stdout.strip())
    return path if path.is_absolute() else cwd / path


def _shown(path: Path, cwd: Path) -> str:
    """`path` as the user would type it from `cwd`: relative when inside it (`.git/hooks/pre-push`)."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def hook_text(python: str | None = None) -> str:
    return _TEMPLATE.format(marker=MARKER, chained=CHAINED, python=shlex.quote(python or sys.executable))


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(cwd: Path, python: str | None = None) -> str:
    """Write the pre-push hook; returns a one-line account of what was done."""
    directory = hooks_dir(cwd)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / HOOK
    chained = directory / CHAINED
    note = ""
    if hook.exists() or hook.is_symlink():
        if _is_ours(hook):
            note = " (updated)"
        elif chained.exists() or chained.is_symlink():
            raise UsageError(f"{hook} exists and so does {chained}: move one of them away first")
        else:
            hook.rename(chained)
            note = f" (the existing hook now runs first, as {CHAINED})"
    hook.write_text(hook_text(python), encoding="utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"installed {_shown(hook, cwd)}{note}"


def uninstall(cwd: Path) -> str:
    """Remove our hook and put a chained hook back in its place."""
    directory = hooks_dir(cwd)
    hook = directory / HOOK
    if not hook.exists():
        return f"no pre-push hook in {directory}"
    if not _is_ours(hook):
        raise UsageError(f"{hook} was not installed by gates; left alone")
    hook.unlink()
    chained = directory / CHAINED
    if chained.exists() or chained.is_symlink():
        chained.rename(hook)
        return f"removed the gates hook; restored the previous {HOOK} hook"
    return f"removed {hook}"
