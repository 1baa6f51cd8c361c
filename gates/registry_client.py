"""The one place a `RegistryClient` is built from configuration, shared by every image gate."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from gates.config import Config
from gates.errors import ConfigError
from gates.paths import display_path, inside_git_dir
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.oci.client import RegistryClient
    from gates.oci.transport import RetryNotice

DEFAULT_CACHE = Path.home() / ".cache" / "gates" / "blobs"
_run_started: float | None = None
"""When the first client of this process was built: `[registry] deadline` counts from there, so the
image gates of one `gates run` share one deadline."""


def start_run() -> None:
    """A new invocation: its `[registry] deadline` counts from its first client, not from an earlier one's
    (several invocations share a process in tests and in embedding programs)."""
    global _run_started
    _run_started = None


def client_from_config(config: Config, on_retry: RetryNotice | None = None) -> RegistryClient:
    """A client honouring `[registry]`: insecure hosts, timeouts, the run's deadline, and a digest cache
    on disk (in memory, with a warning, when the directory cannot be used); `on_retry` hears of every
    retry (for progress).

    `cache-dir = ""` means the default (~/.cache/gates/blobs, or $XDG_CACHE_HOME/gates/blobs);
    `GATES_CACHE_DIR` overrides both; `cache-dir = "none"` keeps the cache in memory only. Where a
    configured `cache-dir` may lie is checked when the configuration is loaded (`check_cache_dir`).
    """
    from gates.oci.cache import DigestCache
    from gates.oci.client import RegistryClient
    from gates.oci.deadlines import RunDeadline
    from gates.oci.transport import Timeouts

    global _run_started
    if _run_started is None:
        _run_started = time.monotonic()
    section = config.section("registry")
    directory, _ = cache_directory(config, os.environ)
    timeout = float(section["timeout"])
    deadline = float(section["deadline"])
    return RegistryClient(
        insecure_hosts=section["insecure"], cache=DigestCache(directory, warn=_warn),
        timeouts=Timeouts(connect=min(timeout, 10.0), read=timeout, total=float(section["request-timeout"])),
        deadline=RunDeadline(deadline, remaining=deadline - (time.monotonic() - _run_started)), on_retry=on_retry,
    )


def cache_directory(config: Config, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The digest cache's directory (None: memory only) and whether the configuration file chose it."""
    chosen = env.get("GATES_CACHE_DIR")
    from_file = not chosen and bool(config.section("registry")["cache-dir"])
    chosen = chosen or config.section("registry")["cache-dir"]
    if chosen == "none":
        return None, from_file
    if chosen:
        return Path(chosen).expanduser(), from_file
    return cache_home(env) / "gates" / "blobs", False


def cache_home(env: Mapping[str, str]) -> Path:
    """The user's cache home: `$XDG_CACHE_HOME`, else ~/.cache."""
    xdg = env.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else DEFAULT_CACHE.parent.parent


def check_cache_dir(config: Config, env: Mapping[str, str]) -> None:
    """Refuse a `[registry] cache-dir` from the configuration file that would put registry bytes where they
    steer something: never inside a `.git` directory, and under CI only inside the workspace or the
    user's cache home. The file is part of what a pull request writes; `GATES_CACHE_DIR` and the default
    are the pipeline's own choice and are not judged here.
    """
    directory, from_file = cache_directory(config, env)
    if directory is None or not from_file:
        return
    from gates import report_targets
    from gates.report_targets import shown

    where = f"{display_path(config.source) if config.source else 'configuration'} [registry] cache-dir"
    real = Path(os.path.realpath(directory))
    if inside_git_dir(directory.absolute(), real):
        raise ConfigError(f"{where} = {shown(directory)}: lies inside a .git directory (its config and hooks"
                          " steer git)")
    if not report_targets.under_ci(env):
        return
    allowed = (report_targets.workspace(env), Path(os.path.realpath(cache_home(env))))
    if not any(real.is_relative_to(root) for root in allowed):
        raise ConfigError(f"{where} = {shown(directory)}: resolves to {shown(real)}, outside the workspace"
                          f" {shown(allowed[0])} and the cache home {shown(allowed[1])}; under CI a configured"
                          " cache stays inside them (the pipeline can set GATES_CACHE_DIR)")


def _warn(message: str) -> None:
    print(f"gates: warning: {message}", file=sys.stderr)
