"""The one place a `RegistryClient` is built from configuration, shared by every image gate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gates.config import Config

if TYPE_CHECKING:
    from gates.oci.client import RegistryClient
    from gates.oci.transport import RetryNotice

DEFAULT_CACHE = Path.home() / ".cache" / "gates" / "blobs"


def client_from_config(config: Config, on_retry: RetryNotice | None = None) -> RegistryClient:
    """A client honouring `[registry]`: insecure hosts, timeout, and a digest cache on disk; `on_retry`
    hears of every retry (for progress).

    `cache-dir = ""` means the default (~/.cache/gates/blobs, or $XDG_CACHE_HOME/gates/blobs);
    `GATES_CACHE_DIR` overrides both; `cache-dir = "none"` keeps the cache in memory only.
    """
    import os

    from gates.oci.cache import DigestCache
    from gates.oci.client import RegistryClient
    from gates.oci.transport import Timeouts

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
    return RegistryClient(
        insecure_hosts=section["insecure"], cache=DigestCache(directory),
        timeouts=Timeouts(connect=min(timeout, 10.0), read=timeout), on_retry=on_retry,
    )
