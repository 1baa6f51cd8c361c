"""Fixtures of the base-image gate tests: the real registry, the pushed images, a clean data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from tests.checks_base_image.images import World, build_world
from tests.oci.conftest import fault_proxy  # noqa: F401 - fixture
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def world(registry: RegistryServer) -> Iterator[World]:  # noqa: F811
    """Every test image, pushed once per session."""
    with RegistryClient(StaticCredentials({})) as client:
        yield build_world(client, registry.host)


@pytest.fixture(autouse=True)
def _no_refreshed_eol_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refreshed end-of-life file in the developer's home must not change what the tests see."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("GATES_CACHE_DIR", raising=False)
    # the tests' `cache-dir` lies under tmp_path: as the cache home, it is allowed under CI too
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
