"""Rendering what ships from what is written: `kubectl kustomize` (or `kustomize build`) and `helm template`,
run as children that a pull request cannot steer.

Each child gets an argument list (no shell), paths that cannot be read as options (absolute, made by
gates), a scrubbed environment (a fresh HOME, a PATH with nothing on it, so no git, helm or plugin can be
started; HTTP(S) proxies that lead nowhere, so no URL is fetched), a timeout, and bounded output.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gates.errors import InputError
from gates.pyyaml import yaml
from gates.targets.kustomize import REMOTE_MARKS

DEFAULT_TIMEOUT_SECONDS = 60
STDERR_MAX_BYTES = 64 * 1024
LOAD_RESTRICTOR = "--load-restrictor=LoadRestrictionsRootOnly"
"""kustomize's own default, said explicitly: a kustomization reads files only under its folder."""
NOWHERE = "http://127.0.0.1:9"
"""The discard port: a proxy through which every request of a Go child fails at once."""


class RenderError(InputError):
    """The renderer could not be run, failed, or said more than gates reads: one line for the user."""


@dataclass(frozen=True)
class Renderer:
    """A program found on PATH and the words that start its render command."""

    argv: tuple[str, ...]
    """e.g. (`/usr/bin/kubectl`, `kustomize`)."""
    said: str
    """The command as the user would type it (`kubectl kustomize`)."""


def find_kustomize() -> Renderer | None:
    """`kubectl kustomize` when kubectl is on PATH, else `kustomize build`, else None."""
    if kubectl := shutil.which("kubectl"):
        return Renderer((kubectl, "kustomize"), "kubectl kustomize")
    if kustomize := shutil.which("kustomize"):
        return Renderer((kustomize, "build"), "kustomize build")
    return None


def find_helm() -> Renderer | None:
    found = shutil.which("helm")
    return Renderer((found, "template"), "helm template") if found else None


@dataclass(frozen=True)
class Rendered:
    text: str
    origin_base: Path | None = None
    """The folder kustomize's `config.kubernetes.io/origin` paths are relative to (its wrapper's)."""


def kustomize(renderer: Renderer, folder: Path, timeout: float, max_bytes: int) -> Rendered:
    """`folder` rendered, through a wrapper kustomization in a fresh folder that asks kustomize to record each
    object's source file (`buildMetadata: [originAnnotations]`); it changes nothing else."""
    with _workspace() as home:
        wrapper = home / "render"
        wrapper.mkdir()
        relative = os.path.relpath(os.path.realpath(folder), wrapper)
        if any(mark in relative for mark in REMOTE_MARKS):
            raise RenderError(f"its folder's path {relative!r} would read as a remote base to kustomize: not rendered")
        (wrapper / "kustomization.yaml").write_text(
            yaml.safe_dump({"resources": [relative], "buildMetadata": ["originAnnotations"]}), encoding="utf-8")
        out = run([*renderer.argv, LOAD_RESTRICTOR, str(wrapper)], home, timeout, max_bytes)
        return Rendered(_decode(out, renderer.said), origin_base=wrapper)


def helm(renderer: Renderer, chart: Path, values: Sequence[Path], timeout: float, max_bytes: int) -> Rendered:
    """`helm template release CHART --values ...`: offline, no dependency update, no post-renderer."""
    argv = [*renderer.argv, "release", os.path.realpath(chart)]
    for file in values:
        argv += ["--values", os.path.realpath(file)]
    with _workspace() as home:
        return Rendered(_decode(run(argv, home, timeout, max_bytes), renderer.said))


class _workspace:
    """A fresh, private folder for the child's HOME, caches and working directory, removed afterwards."""

    def __enter__(self) -> Path:
        self._dir = tempfile.TemporaryDirectory(prefix="gates-render-")
        return Path(os.path.realpath(self._dir.name))  # kustomize's relative paths start from the real one

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def scrubbed_environment(home: Path) -> dict[str, str]:
    """Nothing of gates' own environment (tokens, kubeconfig, proxies, plugin paths) reaches the child."""
    empty = home / "bin"
    empty.mkdir(exist_ok=True)
    env = {
        "PATH": str(empty), "HOME": str(home), "LANG": "C", "LC_ALL": "C", "TMPDIR": str(home),
        "KUBECONFIG": os.devnull, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"), "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data"),
        "HELM_PLUGINS": str(empty), "KUSTOMIZE_PLUGIN_HOME": str(empty),
        "HTTP_PROXY": NOWHERE, "HTTPS_PROXY": NOWHERE, "http_proxy": NOWHERE, "https_proxy": NOWHERE,
        "NO_PROXY": "", "no_proxy": "", "GIT_TERMINAL_PROMPT": "0",
    }
    if sys.platform == "win32":  # pragma: no cover - a Windows child needs its system root
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
    return env


def run(argv: Sequence[str], home: Path, timeout: float, max_bytes: int) -> bytes:
    """The child's standard output; `RenderError` when it fails, outlives `timeout` or prints more than
    `max_bytes` (it is then killed with its process group)."""
    name = Path(argv[0]).name
    try:
        child = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=home,
            env=scrubbed_environment(home), close_fds=True, start_new_session=sys.platform != "win32",
        )
    except OSError as exc:
        raise RenderError(f"{name} could not be started: {exc.strerror or exc}") from None
    assert child.stdout is not None
    assert child.stderr is not None
    out = _Drain(child.stdout, max_bytes, child)
    err = _Drain(child.stderr, STDERR_MAX_BYTES, None)
    try:
        code = child.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill(child)
        raise RenderError(f"{name} did not finish within {timeout:g} s: stopped") from None
    finally:
        out.join()
        err.join()
    if out.overflow:
        raise RenderError(f"{name} printed more than {max_bytes} bytes (max-file-size): stopped")
    if code != 0:
        raise RenderError(f"{name} failed (exit {code}): {first_line(err.data)}")
    return out.data


def first_line(data: bytes, limit: int = 600) -> str:
    """A child's error output as one line (kustomize splits one error over several), bounded."""
    words = " ".join(line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip())
    if not words:
        return "no message"
    return words[:limit] + ("..." if len(words) > limit else "")


class _Drain(threading.Thread):
    """Reads one pipe up to a limit; past it, kills the child (when given) and keeps only what fit."""

    def __init__(self, stream: IO[bytes], limit: int, child: subprocess.Popen[bytes] | None) -> None:
        super().__init__(daemon=True)
        self._stream, self._limit, self._child = stream, limit, child
        self._chunks: list[bytes] = []
        self.overflow = False
        self.start()

    def run(self) -> None:
        size = 0
        with self._stream:
            while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
                if size + len(chunk) > self._limit:
                    self.overflow = True
                    self._chunks.append(chunk[: self._limit - size])
                    if self._child is not None:
                        _kill(self._child)
                        return
                    size = self._limit
                    continue
                self._chunks.append(chunk)
                size += len(chunk)

    @property
    def data(self) -> bytes:
        return b"".join(self._chunks)


def _kill(child: subprocess.Popen[bytes]) -> None:
    try:
        if sys.platform != "win32":
            os.killpg(child.pid, signal.SIGKILL)
        else:  # pragma: no cover
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


def _decode(data: bytes, said: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RenderError(f"{said} printed bytes that are not UTF-8 (at byte {exc.start})") from None
