"""Fixtures: the real registry, a pushing client, signing material, and the CLI with a clean environment."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.digest import Digest
from gates.oci.reference import Reference, parse_reference
from tests.conftest import CliRun
from tests.oci.conftest import FAST_RETRY
from tests.signatures.factory import FakeFulcio, FakeRekor, public_pem, spki, trusted_root
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

_counter = itertools.count()


@pytest.fixture
def pusher() -> Iterator[RegistryClient]:
    """A client to build and sign images with (no credentials, fast retries)."""
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
        yield client


@dataclass(frozen=True)
class Signers:
    """Keys and a private Sigstore (Fulcio-like CA, Rekor and CT log keys) made for this session."""

    key: ec.EllipticCurvePrivateKey
    other_key: ec.EllipticCurvePrivateKey
    key_pem: Path
    other_key_pem: Path
    fulcio: FakeFulcio
    rekor: FakeRekor
    trusted_root: Path


@pytest.fixture(scope="session")
def signers(tmp_path_factory: pytest.TempPathFactory) -> Signers:
    root = tmp_path_factory.mktemp("signers")
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    (root / "cosign.pub").write_bytes(public_pem(key))
    (root / "other.pub").write_bytes(public_pem(other))
    fulcio, rekor = FakeFulcio(), FakeRekor()
    trust = trusted_root(root / "trusted_root.json", fulcio=fulcio, rekor_keys=[(rekor.log_id, spki(rekor.key))])
    return Signers(key, other, root / "cosign.pub", root / "other.pub", fulcio, rekor, trust)


def fresh(server: RegistryServer, name: str = "app", tag: str = "1.0") -> Reference:
    """A reference in a repository no other test uses."""
    return parse_reference(f"{server.host}/sig/{name}{next(_counter)}:{tag}")


def small_image(marker: str, architecture: str = "amd64") -> oi.Image:
    return oi.image([oi.layer({"etc/marker": marker})], architecture=architecture)


def push(client: RegistryClient, ref: Reference, marker: str = "x") -> Digest:
    return oi.push_image(client, ref, small_image(f"{ref}{marker}"))


GatesRun = Callable[[Sequence[str]], CliRun]


@pytest.fixture
def gates(cli: GatesRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GatesRun:
    """`gates` in-process with no credentials from the machine and no cache outside the test."""
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.setenv("GATES_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return cli


def results(run: CliRun) -> list[dict[str, Any]]:
    """The `results` of a `--format json` run."""
    doc = json.loads(run.out)
    assert doc["schema"] == "gates/report/v1"
    out: list[dict[str, Any]] = doc["results"]
    return out
