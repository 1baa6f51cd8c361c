"""A cache directory that cannot be used never costs a verdict, and a damaged cache entry is never
believed: the CLI as a process, the real registry, both image gates.

Read-only needs a user the permissions bind: as root, the run drops CAP_DAC_OVERRIDE with util-linux's
`setpriv`; a full disk is a file-size limit (`prlimit --fsize`, EFBIG on write), which binds root too.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.digest import Digest
from gates.oci.manifest import ImageManifest
from gates.oci.reference import parse_reference
from tests.faults.conftest import GateUnderFault

WARNING = "caching in memory for this run"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("gates: warning: cache directory")]


def _needs(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (util-linux) is not installed")
    return path


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    cache = tmp_path / "read-only-cache"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    yield cache
    cache.chmod(stat.S_IRWXU)


def _as_bound_by_permissions() -> list[str]:
    if os.geteuid() != 0:
        return []
    return [_needs("setpriv"), "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def test_a_cache_under_a_regular_file_falls_back_to_memory(gate: GateUnderFault, tmp_path: Path) -> None:
    gate.prepare()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache folder should be\n", encoding="utf-8")
    outcome = gate.run_images([gate.image(gate.registry.host)], env={"GATES_CACHE_DIR": str(blocker / "blobs")})
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    warnings = _warnings(outcome.run.err)
    assert len(warnings) == 1 and str(blocker / "blobs") in warnings[0] and WARNING in warnings[0], outcome.run.err


def test_a_read_only_cache_falls_back_to_memory(gate: GateUnderFault, read_only: Path) -> None:
    gate.prepare()
    outcome = gate.run_images([gate.image(gate.registry.host)], env={"GATES_CACHE_DIR": str(read_only)},
                              prefix=_as_bound_by_permissions() or None)
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    warnings = _warnings(outcome.run.err)
    assert len(warnings) == 1 and WARNING in warnings[0], outcome.run.err
    assert not any(read_only.iterdir())


def test_a_full_cache_falls_back_to_memory_mid_run(gate: GateUnderFault, tmp_path: Path) -> None:
    gate.prepare()
    cache = tmp_path / "full-cache"
    limit = [_needs("prlimit"), "--fsize=64", "--"]  # the probe fits; manifests and blobs do not
    outcome = gate.run_images([gate.image(gate.registry.host)], env={"GATES_CACHE_DIR": str(cache)}, prefix=limit)
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    warnings = _warnings(outcome.run.err)
    assert len(warnings) == 1 and "File too large" in warnings[0] and WARNING in warnings[0], outcome.run.err
    leftovers = [p for p in cache.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers  # no partial file is left under any name


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_damaged_cache_entries_are_never_believed(gate: GateUnderFault, tmp_path: Path) -> None:
    gate.prepare()
    image = gate.image(gate.registry.host)
    cache = tmp_path / "cache"
    env = {"GATES_CACHE_DIR": str(cache)}
    first = gate.run_images([image], env=env)
    assert first.results[0]["outcome"] == "passed", first.results[0]
    entries = _entries(cache)
    assert entries, "the first run filled the cache"
    for entry in entries:  # one flipped bit in every entry
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 1
        entry.write_bytes(bytes(data))
    if gate.gate == "base-image":  # and a believable lie: the image's config, now saying root
        with RegistryClient(StaticCredentials({})) as client:
            manifest = client.get_manifest(parse_reference(image)).parse()
        assert isinstance(manifest, ImageManifest)
        config = cache / manifest.config.digest.algorithm / manifest.config.digest.hex
        config.write_bytes(b'{"architecture":"amd64","os":"linux","config":{"User":"root"},'
                           b'"created":"2026-11-20T00:00:00Z","rootfs":{"type":"layers","diff_ids":[]}}')
    second = gate.run_images([image], env=env)
    assert second.results[0]["outcome"] == "passed", second.results[0]
    assert _warnings(second.run.err) == []
    for entry in _entries(cache):  # what is there now is what its name says
        assert Digest.parse(f"{entry.parent.name}:{entry.name}").matches(entry.read_bytes()), entry
