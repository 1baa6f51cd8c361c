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
from tests.checks_signature.cosign_keys import generate_key_pair, load_private_key
from tests.conftest import CliRun
from tests.cosign.factory import FakeFulcio, FakeRekor, public_pem, spki, trusted_root
from tests.oci.conftest import FAST_RETRY
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

_counter = itertools.count()
KEY_PASSWORD = b"correct horse battery staple"
"""The `COSIGN_PASSWORD` of the session's cosign.key."""


@pytest.fixture
def pusher() -> Iterator[RegistryClient]:
    """A client to build and sign images with (no credentials, fast retries)."""
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
        yield client


@dataclass(frozen=True)
class Signers:
    """Keys and a private Sigstore (Fulcio-like CA, Rekor and CT log keys) made for this session."""

    key: ec.EllipticCurvePrivateKey
    """Decrypted from `key_file` with `password`: every key signature of these tests goes through cosign.key."""
    other_key: ec.EllipticCurvePrivateKey
    key_pem: Path
    """`cosign.pub`, as `cosign generate-key-pair` wrote it next to `key_file`."""
    other_key_pem: Path
    fulcio: FakeFulcio
    rekor: FakeRekor
    trusted_root: Path
    key_file: Path
    """`cosign.key`: the `ENCRYPTED SIGSTORE PRIVATE KEY` PEM."""
    password: bytes


@pytest.fixture(scope="session")
def signers(tmp_path_factory: pytest.TempPathFactory) -> Signers:
    root = tmp_path_factory.mktemp("signers")
    pair = generate_key_pair(root, KEY_PASSWORD)  # cosign.key + cosign.pub, as `cosign generate-key-pair`
    key = load_private_key(pair.private_key, KEY_PASSWORD)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    other = ec.generate_private_key(ec.SECP256R1())
    (root / "other.pub").write_bytes(public_pem(other))
    fulcio, rekor = FakeFulcio(), FakeRekor()
    trust = trusted_root(root / "trusted_root.json", fulcio=fulcio, rekor_keys=[(rekor.log_id, spki(rekor.key))])
    return Signers(key, other, pair.public_key, root / "other.pub", fulcio, rekor, trust, pair.private_key,
                   KEY_PASSWORD)


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
