"""Fixtures of the fault tests: the real registry, the fault proxy of tests/oci, and one image per gate.

Every case runs `gates` as a real process (with a timeout) over two images: one read through a fault
proxy in front of the real registry, one read from the registry directly, which must still be judged.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import parse_reference
from tests.checks_base_image.images import DEBIAN_13
from tests.checks_signature.conftest import Signers, signers  # noqa: F401 - fixture
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.conftest import CliRun, run_process
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


@dataclass
class GateUnderFault:
    """One gate, an image pushed for it, and how to run the gate through a proxy."""

    gate: str
    registry: RegistryServer
    signers: Signers
    tmp_path: Path
    repository: str = ""

    def prepare(self, *fronts: FaultProxy) -> None:
        """Push a fresh image; for the signature gate, sign it for every host it will be read through."""
        self.repository = f"faults/{self.gate}{next(_names)}"
        direct = parse_reference(f"{self.registry.host}/{self.repository}:1")
        with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
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
        (self.tmp_path / "gates.toml").write_text(config, encoding="utf-8")
        docker = self.tmp_path / "docker"
        docker.mkdir(exist_ok=True)
        (docker / "config.json").write_text(json.dumps({"auths": docker_auths or {}}), encoding="utf-8")
        images = [self.image(front.host), self.image(self.registry.host)]
        if self.gate == "signature":
            args = ["signature", "--key", str(self.signers.key_pem), "--trusted-root", str(self.signers.trusted_root)]
        else:
            args = ["base-image", "--now", NOW]
        env = {"GATES_CACHE_DIR": "none", "DOCKER_CONFIG": str(docker), "XDG_DATA_HOME": str(self.tmp_path / "xdg")}
        started = time.monotonic()
        run = run_process([*args, *images, "--config", "gates.toml", "--format", "json"], cwd=self.tmp_path,
                          env=env, timeout=TIMEOUT)
        seconds = time.monotonic() - started
        assert "Traceback" not in run.err + run.out and "internal error" not in run.err, run.err
        assert run.code in (0, 1), run.err
        faulty, healthy = json.loads(run.out)["results"]
        assert healthy["outcome"] == "passed", healthy  # the other image of the run is still judged
        return Outcome(run, faulty, healthy, seconds)


@pytest.fixture(params=["signature", "base-image"])
def gate(request: pytest.FixtureRequest, registry: RegistryServer, signers: Signers,  # noqa: F811
         tmp_path: Path) -> GateUnderFault:
    return GateUnderFault(str(request.param), registry, signers, tmp_path)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
