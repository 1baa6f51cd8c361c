"""Fixtures of the fault tests: the real registry, the fault proxy of tests/oci, and one image per gate.

Every case runs `gates` as a real process (with a timeout) over two images: one read through a fault
proxy in front of the real registry, one read from the registry directly, which must still be judged.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import Credentials, StaticCredentials
from gates.oci.reference import parse_reference
from tests.checks_base_image.images import DEBIAN_13
from tests.checks_signature.conftest import Signers, signers  # noqa: F401 - fixture
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.conftest import REPO, CliRun, run_process
from tests.oci.conftest import FAST_RETRY, FaultProxy, fault_proxy  # noqa: F401 - fixture
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

NOW = "2026-11-24"
TIMEOUT = 60.0
"""Seconds any one run may take before the subprocess is killed and the test fails."""
_names = itertools.count()

Proxies = Callable[..., FaultProxy]


@dataclass(frozen=True)
class Outcome:
    """What one run said about the image read through the proxy and the one read directly."""

    run: CliRun
    faulty: dict[str, Any]
    healthy: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class Results:
    """Every result of one run, in the order the images were given."""

    run: CliRun
    results: list[dict[str, Any]]
    seconds: float


@dataclass
class GateUnderFault:
    """One gate, an image pushed for it, and how to run the gate through a proxy."""

    gate: str
    registry: RegistryServer
    signers: Signers
    tmp_path: Path
    repository: str = ""
    push_credentials: dict[str, Credentials] = field(default_factory=dict)
    """What `prepare` pushes with (for a registry with auth)."""

    def prepare(self, *fronts: FaultProxy) -> None:
        """Push a fresh image; for the signature gate, sign it for every host it will be read through."""
        self.repository = f"faults/{self.gate}{next(_names)}"
        direct = parse_reference(f"{self.registry.host}/{self.repository}:1")
        with RegistryClient(StaticCredentials(self.push_credentials), retry=FAST_RETRY) as client:
            image = oi.image([DEBIAN_13, oi.layer({"app/id": self.repository})], user="1000",
                             created="2026-11-20T00:00:00Z")
            digest = oi.push_image(client, direct, image)
            if self.gate == "signature":
                hosts = [self.registry.host, *(f.host for f in fronts)]
                layers = [key_layer(self.signers.key, digest, f"{host}/{self.repository}", self.signers.rekor)
                          for host in hosts]
                sign_legacy(client, direct, digest, *layers)

    def image(self, host: str) -> str:
        return f"{host}/{self.repository}:1"

    def run(self, front: FaultProxy, *, config: str = "", docker_auths: dict[str, Any] | None = None) -> Outcome:
        """`gates <gate>` over the image through `front` and directly; returns both results."""
        many = self.run_images([self.image(front.host), self.image(self.registry.host)], config=config,
                               docker_auths=docker_auths)
        faulty, healthy = many.results
        assert healthy["outcome"] == "passed", healthy  # the other image of the run is still judged
        return Outcome(many.run, faulty, healthy, many.seconds)

    def run_images(self, images: list[str], *, config: str = "", docker_auths: dict[str, Any] | None = None,
                   env: dict[str, str] | None = None, timeout: float = TIMEOUT, prefix: list[str] | None = None,
                   ) -> Results:
        """`gates <gate>` over `images` as a real process: every result, in order, and the time taken."""
        (self.tmp_path / "gates.toml").write_text(config, encoding="utf-8")
        docker = self.tmp_path / "docker"
        docker.mkdir(exist_ok=True)
        (docker / "config.json").write_text(json.dumps({"auths": docker_auths or {}}), encoding="utf-8")
        if self.gate == "signature":
            args = ["signature", "--key", str(self.signers.key_pem), "--trusted-root", str(self.signers.trusted_root)]
        else:
            args = ["base-image", "--now", NOW]
        environment = {"GATES_CACHE_DIR": "none", "DOCKER_CONFIG": str(docker),
                       "XDG_DATA_HOME": str(self.tmp_path / "xdg")}
        environment.update(env or {})
        started = time.monotonic()
        argv = [*args, *images, "--config", "gates.toml", "--format", "json"]
        run = (run_prefixed(prefix, argv, self.tmp_path, environment, timeout) if prefix
               else run_process(argv, cwd=self.tmp_path, env=environment, timeout=timeout))
        seconds = time.monotonic() - started
        assert "Traceback" not in run.err + run.out and "internal error" not in run.err, run.err
        assert run.code in (0, 1), run.err
        results = json.loads(run.out)["results"]
        assert [r["target"] for r in results] == images  # one result per image, none lost
        return Results(run, results, seconds)


@pytest.fixture(params=["signature", "base-image"])
def gate(request: pytest.FixtureRequest, registry: RegistryServer, signers: Signers,  # noqa: F811
         tmp_path: Path) -> GateUnderFault:
    return GateUnderFault(str(request.param), registry, signers, tmp_path)


def run_prefixed(prefix: list[str], args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> CliRun:
    """`run_process`, started through `prefix` (e.g. `prlimit --fsize=N`, `setpriv ...`)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATES_") or k == "GATES_CORPUS"}
    environment.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    environment.pop("GITHUB_ACTIONS", None)
    environment.update(env)
    proc = subprocess.run([*prefix, sys.executable, "-m", "gates", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=timeout, check=False)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class SilentServer:
    """A loopback socket that accepts connections and never answers: `host` for image references."""

    host: str
    accepted: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    """A registry host that accepts every connection and never sends a byte (counts the connections)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    server = SilentServer(f"127.0.0.1:{listener.getsockname()[1]}")

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield server
    listener.close()
    for conn in server.accepted:
        conn.close()


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
