"""The one place a `RegistryClient` is built from configuration, shared by every image gate."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gates.config import Config

if TYPE_CHECKING:
    from gates.oci.client import RegistryClient
    from gates.oci.transport import RetryNotice

DEFAULT_CACHE = Path.home() / ".cache" / "gates" / "blobs"
_run_started: float | None = None
"""When the first client of this process was built: `[registry] deadline` counts from there, so the
image gates of one `gates run` share one deadline."""


def client_from_config(config: Config, on_retry: RetryNotice | None = None) -> RegistryClient:
    """A client honouring `[registry]`: insecure hosts, timeouts, the run's deadline, and a digest cache
    on disk (in memory, with a warning, when the directory cannot be used); `on_retry` hears of every
    retry (for progress).

    `cache-dir = ""` means the default (~/.cache/gates/blobs, or $XDG_CACHE_HOME/gates/blobs);
    `GATES_CACHE_DIR` overrides both; `cache-dir = "none"` keeps the cache in memory only.
    """
    import os

    from gates.oci.cache import DigestCache
    from gates.oci.client import RegistryClient
    from gates.oci.deadlines import RunDeadline
    from gates.oci.transport import Timeouts

    global _run_started
    if _run_started is None:
        _run_started = time.monotonic()
    section = config.section("registry")
    chosen = os.environ.get("GATES_CACHE_DIR") or section["cache-dir"]
    directory: Path | None
    if chosen == "none":
        directory = None
    elif chosen:
        directory = Path(chosen).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        directory = Path(xdg) / "gates" / "blobs" if xdg else DEFAULT_CACHE
    timeout = float(section["timeout"])
    deadline = float(section["deadline"])
    return RegistryClient(
        insecure_hosts=section["insecure"], cache=DigestCache(directory, warn=_warn),
        timeouts=Timeouts(connect=min(timeout, 10.0), read=timeout, total=float(section["request-timeout"])),
        deadline=RunDeadline(deadline, remaining=deadline - (time.monotonic() - _run_started)), on_retry=on_retry,
    )


def _warn(message: str) -> None:
    print(f"gates: warning: {message}", file=sys.stderr)
