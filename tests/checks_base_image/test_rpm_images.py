"""RPM-based images through the real registry: one per database format, holding the corpus's real
databases and os-release files, judged end to end; a broken database is an `error`, never a pass."""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from tests.checks_base_image.images import NOW, ref
from tests.conftest import CliRun, require_corpus
from tests.support.oci_images import Entry, directory, file, image, layer, push_image, symlink
from tests.support.registry import RegistryServer

Cli = Callable[[Sequence[str]], CliRun]
CREATED = "2026-11-20T00:00:00Z"


def _corpus(*parts: str) -> bytes:
    data = require_corpus(*parts).read_bytes()
    return gzip.decompress(data) if parts[-1].endswith(".gz") else data


def _os_release(name: str) -> bytes:
    return _corpus("extras", "os-release", "chef-os_release", name)


@dataclass(frozen=True)
class RpmWorld:
    ubi8_bdb: str
    sle15_ndb: str
    mariner_sqlite: str
    mariner_distroless: str
    broken_ndb: str
    lying_header: str


def _push(client: RegistryClient, name: str, entries: list[Entry]) -> str:
    push_image(client, ref(name), image([layer(entries)], created=CREATED, user="1000"))
    return name


@pytest.fixture(scope="module")
def rpm_world(registry: RegistryServer) -> Iterator[RpmWorld]:
    base = f"{registry.host}/rpm"
    ndb = _corpus("rpmdb", "go-rpmdb", "sle15-bci", "Packages.db")
    broken = bytearray(ndb)
    struct.pack_into("<I", broken, 32 + 4, 2)  # slot 1 names package 2, whose blob lies elsewhere
    sqlite = _corpus("rpmdb", "go-rpmdb", "cbl-mariner-2.0", "rpmdb.sqlite.gz")
    with RegistryClient(StaticCredentials({})) as client:
        yield RpmWorld(
            ubi8_bdb=_push(client, f"{base}/ubi:8", [
                file("etc/os-release", _os_release("redhat_8")),
                file("var/lib/rpm/Packages", _corpus("rpmdb", "go-rpmdb", "libuuid", "Packages")),
            ]),
            sle15_ndb=_push(client, f"{base}/bci:15", [  # rpm 4.16+'s place, reached through the usual link
                file("etc/os-release", _os_release("sles_15")),
                directory("usr/lib/sysimage/rpm"),
                file("usr/lib/sysimage/rpm/Packages.db", ndb),
                symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
            ]),
            mariner_sqlite=_push(client, f"{base}/mariner:2", [
                file("etc/os-release", _os_release("cbl-mariner_2")),
                file("var/lib/rpm/rpmdb.sqlite", sqlite),
            ]),
            mariner_distroless=_push(client, f"{base}/mariner-distroless:2", [
                file("etc/os-release", _os_release("cbl-mariner_2")),
                file("var/lib/rpmmanifest/container-manifest-2",
                     _corpus("rpmdb", "syft", "mariner2-distroless", "container-manifest-2")),
            ]),
            broken_ndb=_push(client, f"{base}/bci:broken", [
                file("etc/os-release", _os_release("sles_15")),
                file("var/lib/rpm/Packages.db", bytes(broken)),
            ]),
            lying_header=_push(client, f"{base}/ubi:lying", [
                file("etc/os-release", _os_release("redhat_8")),
                file("var/lib/rpm/Packages", _lying_bdb()),
            ]),
        )


def _lying_bdb() -> bytes:
    """The libuuid database with its header's data length grown by one: the blob no longer adds up."""
    data = bytearray(_corpus("rpmdb", "go-rpmdb", "libuuid", "Packages"))
    page_size = struct.unpack_from("<I", data, 20)[0]
    for pgno in range(1, len(data) // page_size):
        start = pgno * page_size
        if data[start + 25] == 7 and struct.unpack_from("<I", data, start + 12)[0] == 0:  # first overflow page
            il, dl = struct.unpack_from(">II", data, start + 26)
            struct.pack_into(">II", data, start + 26, il, dl + 1)
            return bytes(data)
    raise AssertionError("no overflow page")


def _record(ident: str, ecosystem: str, package: str, fixed: str) -> dict[str, Any]:
    return {"id": ident, "summary": f"{package} flaw", "affected": [{
        "package": {"ecosystem": ecosystem, "name": package},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
    }]}


@pytest.fixture
def advisories(tmp_path: Path) -> Path:
    """OSV records in each feed's shape: Red Hat and SUSE name binary rpms, Mariner its spec (source) names."""
    folder = tmp_path / "osv"
    folder.mkdir()
    records = [
        _record("RHSA-2023:7000", "Red Hat:enterprise_linux:8::baseos", "libuuid", "0:2.32.1-44.el8_9"),
        _record("RHSA-2023:7001", "Red Hat:enterprise_linux:8::baseos", "util-linux", "0:2.32.1-44.el8_9"),
        _record("SUSE-SU-2022:0001", "SUSE:Linux Enterprise Server 15 SP7", "libz1", "1.2.11-3.24.1"),
        _record("SUSE-SU-2022:0002", "SUSE:Linux Enterprise Micro 15 SP7", "libz1", "1.2.11-3.24.1"),
        _record("SUSE-SU-2022:0003", "SUSE:Linux Enterprise Server 15 SP7", "bash", "4.4-19.6.1"),  # installed
        _record("CVE-2022-2022", "Mariner:2.0", "curl", "7.76.0-7.cm2"),
        _record("CVE-2022-2023", "Mariner:2.0", "curl-libs", "7.76.0-7.cm2"),  # a binary name: never matches
        _record("CVE-2022-2024", "Mariner:2.0", "openssl", "1.1.1k-15.cm2"),  # distroless has exactly the fix
    ]
    for record in records:
        (folder / f"{record['id'].replace(':', '-')}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def _gate(cli: Cli, tmp_path: Path, images: Sequence[str], advisories: Path) -> tuple[CliRun, list[dict[str, Any]]]:
    config = tmp_path / "gates.toml"
    config.write_text(f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n[base-image]\n'
                      'skip-rules = ["base-image-point-release-lag"]\n', encoding="utf-8")
    run = cli(["base-image", *images, "--config", str(config), "--format", "json", "--now", NOW,
               "--advisories", str(advisories)])
    assert run.code in (0, 1), run.err
    return run, json.loads(run.out)["results"]


def _vulnerable(result: dict[str, Any]) -> list[str]:
    return sorted(f["message"] for f in result["findings"] if f["rule"] == "base-image-vulnerable-package")


def test_each_database_format_is_judged_by_its_ecosystem(cli: Cli, tmp_path: Path, rpm_world: RpmWorld,
                                                         advisories: Path) -> None:
    images = [rpm_world.ubi8_bdb, rpm_world.sle15_ndb, rpm_world.mariner_sqlite, rpm_world.mariner_distroless]
    run, results = _gate(cli, tmp_path, images, advisories)
    assert run.code == 1
    ubi, sle, mariner, distroless = results
    rules = [sorted({f["rule"] for f in r["findings"]}) for r in results]
    # no end-of-life data names CBL-Mariner: unknown, said, never assumed supported
    assert rules == [["base-image-vulnerable-package"]] * 2 + [
        ["base-image-os-unknown", "base-image-vulnerable-package"], ["base-image-os-unknown"]]
    assert _vulnerable(ubi) == ["libuuid 2.32.1-42.el8_8 is affected by RHSA-2023:7000: fixed in 0:2.32.1-44.el8_9"]
    assert any("1 rpm package checked against Red Hat:enterprise_linux:8::baseos: 1 affected (read from "
               "var/lib/rpm/Packages)" in d for d in ubi["details"])
    assert _vulnerable(sle) == ["libz1 1.2.11-3.21.1 is affected by SUSE-SU-2022:0001: fixed in 1.2.11-3.24.1",
                                "libz1 1.2.11-3.21.1 is affected by SUSE-SU-2022:0002: fixed in 1.2.11-3.24.1"]
    assert any("35 rpm packages checked against SUSE:Linux Enterprise Micro 15 SP7, SUSE:Linux Enterprise "
               "Server 15 SP7" in d for d in sle["details"])
    assert _vulnerable(mariner) == [
        "curl 7.76.0-6.cm2 is affected by CVE-2022-2022: fixed in 7.76.0-7.cm2",
        "curl-libs (source curl) 7.76.0-6.cm2 is affected by CVE-2022-2022: fixed in 7.76.0-7.cm2",
        "openssl 1.1.1k-7.cm2 is affected by CVE-2022-2024: fixed in 1.1.1k-15.cm2",
        "openssl-libs (source openssl) 1.1.1k-7.cm2 is affected by CVE-2022-2024: fixed in 1.1.1k-15.cm2",
    ]
    assert any("129 rpm packages checked against Mariner:2.0" in d for d in mariner["details"])
    assert any("5 rpm packages checked against Mariner:2.0: 0 affected (read from var/lib/rpmmanifest/container-"
               "manifest-2)" in d for d in distroless["details"])
    eol = {r["target"]: [f["message"] for f in r["findings"] if f["rule"] == "base-image-os-eol"] for r in results}
    assert eol[rpm_world.ubi8_bdb] == [] and eol[rpm_world.sle15_ndb] == []


@pytest.mark.parametrize(("attr", "says"), [
    ("broken_ndb", "var/lib/rpm/Packages.db: slot 1 (package 2): block 256 holds no blob of that package"),
    ("lying_header", "var/lib/rpm/Packages#1: claims"),
])
def test_a_broken_database_is_one_error_line(cli: Cli, tmp_path: Path, rpm_world: RpmWorld, advisories: Path,
                                             attr: str, says: str) -> None:
    target = getattr(rpm_world, attr)
    run, [result] = _gate(cli, tmp_path, [target], advisories)
    assert run.code == 1 and result["outcome"] == "error"
    assert says in result["error"] and "\n" not in result["error"]
    assert result["error"].startswith(target + ": ")


def test_an_rpm_distribution_without_an_osv_feed_is_undecided(cli: Cli, tmp_path: Path, registry: RegistryServer,
                                                              advisories: Path) -> None:
    target = f"{registry.host}/rpm/fedora:36"
    with RegistryClient(StaticCredentials({})) as client:
        _push(client, target, [file("etc/os-release", _os_release("fedora_36")),
                               file("var/lib/rpm/rpmdb.sqlite", _corpus("rpmdb", "openshift-preflight", "sqlite",
                                                                         "var", "lib", "rpm", "rpmdb.sqlite"))])
    run, [result] = _gate(cli, tmp_path, [target], advisories)
    assert run.code == 1 and result["outcome"] == "error"
    assert "1 rpm package, but no OSV ecosystem is known for fedora 36" in result["error"]
