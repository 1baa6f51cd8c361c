"""Rolling and version-less distributions through the real registry: judged by the age of their newest
package build (or of the image), by their advisories where OSV has them; `os-unknown` only for an OS that
really is not known."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.distro.os_release import release_from_os_release
from gates.distro.pkgdb import InstalledPackage, PackageManager
from gates.distro.rolling import newest_build, release_from_packages, rolling_distribution
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from tests.checks_base_image.images import NOW, ref
from tests.conftest import CliRun, require_corpus
from tests.support.oci_images import EPOCH_CREATED, file, image, layer, push_image
from tests.support.registry import RegistryServer

Cli = Callable[[Sequence[str]], CliRun]
TODAY = dt.datetime.fromisoformat(NOW).replace(tzinfo=dt.timezone.utc)
EDGE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.23.0_alpha20251001\nPRETTY_NAME="Alpine Linux edge"\n'
SID = 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=trixie\nID=debian\n'
OLD_DISTROLESS = 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION="Debian GNU/Linux"\n'


def _seconds(days_ago: int) -> int:
    return int((TODAY - dt.timedelta(days=days_ago)).timestamp())


def _apk(*packages: tuple[str, str, int]) -> str:
    return "\n".join(f"P:{name}\nV:{version}\nA:x86_64\no:{name}\nt:{built}\n" for name, version, built in packages)


def _os_release(name: str) -> bytes:
    return require_corpus("extras", "os-release", "chef-os_release", name).read_bytes()


def _rpm_header(name: str, version: str, release: str, built: int) -> bytes:
    entries, data = b"", b""
    for tag, value in ((1000, name), (1001, version), (1002, release)):
        entries += struct.pack(">iIiI", tag, 6, len(data), 1)
        data += value.encode() + b"\0"
    data += b"\0" * (-len(data) % 4)
    entries += struct.pack(">iIiI", 1006, 4, len(data), 1)
    data += struct.pack(">I", built)
    return struct.pack(">II", 4, len(data)) + entries + data


def _rpmdb(tmp: Path, headers: list[bytes]) -> bytes:
    path = tmp / "rpmdb.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(h,) for h in headers])
    connection.close()
    return path.read_bytes()


@dataclass(frozen=True)
class Rolling:
    wolfi_fresh: str
    wolfi_stale: str
    edge: str
    arch: str
    arch_epoch: str
    tumbleweed: str
    sid: str
    distroless: str
    unknown: str
    arch_dpkg: str


@pytest.fixture(scope="module")
def rolling(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rolling]:
    base = f"{registry.host}/rolling"
    tumbleweed_db = _rpmdb(tmp_path_factory.mktemp("tw"), [
        _rpm_header("glibc", "2.40", "5.1", _seconds(200)), _rpm_header("bash", "5.2.37", "1.2", _seconds(95))])
    images: dict[str, tuple[str, list[tuple[str, str | bytes]]]] = {
        "wolfi_fresh": ("wolfi:fresh", [("etc/os-release", _os_release("wolfi")),
                                        ("lib/apk/db/installed", _apk(("glibc", "2.40-r3", _seconds(40)),
                                                                      ("wget", "1.25.0-r0", _seconds(3))))]),
        "wolfi_stale": ("wolfi:stale", [("etc/os-release", _os_release("wolfi")),
                                        ("lib/apk/db/installed", _apk(("glibc", "2.39-r1", _seconds(120)),
                                                                      ("wget", "1.24.5-r0", _seconds(75))))]),
        "edge": ("alpine:edge", [("etc/os-release", EDGE),
                                 ("lib/apk/db/installed", _apk(("musl", "1.2.5-r10", _seconds(10))))]),
        "arch": ("arch:latest", [("etc/os-release", _os_release("arch"))]),
        "arch_epoch": ("arch:reproducible", [("etc/os-release", _os_release("arch"))]),
        "tumbleweed": ("tumbleweed:latest", [("etc/os-release", _os_release("opensusetumbleweed")),
                                             ("usr/lib/sysimage/rpm/rpmdb.sqlite", tumbleweed_db)]),
        "sid": ("debian:sid", [("etc/os-release", SID), ("etc/debian_version", "trixie/sid\n")]),
        "distroless": ("distroless:old", [
            ("etc/os-release", OLD_DISTROLESS),
            ("var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 11.1+deb11u9\n"
                                                 "Architecture: amd64\n")]),
        "unknown": ("gatesos:1", [("etc/os-release", "ID=gatesos\nVERSION_ID=1\n")]),
        "arch_dpkg": ("arch:dpkg", [("etc/os-release", _os_release("arch")),
                                    ("var/lib/dpkg/status", "Package: openssl\nStatus: install ok installed\n"
                                                            "Version: 3.0.11-1~deb12u1\nArchitecture: amd64\n")]),
    }
    pushed = {}
    with RegistryClient(StaticCredentials({})) as client:
        for attr, (name, files) in images.items():
            created = {"arch": "2026-06-01T00:00:00Z", "arch_epoch": EPOCH_CREATED}.get(attr, "2026-11-20T00:00:00Z")
            pushed[attr] = f"{base}/{name}"
            push_image(client, ref(pushed[attr]), image([layer([file(p, d) for p, d in files])], created=created,
                                                        user="1000"))
        yield Rolling(**pushed)


def _gate(cli: Cli, tmp_path: Path, images: Sequence[str], extra: str = "",
          *args: str) -> tuple[CliRun, dict[str, dict[str, Any]]]:
    config = tmp_path / "gates.toml"
    config.write_text(f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n[base-image]\nmax-age-days = 365\n{extra}',
                      encoding="utf-8")
    run = cli(["base-image", *images, "--config", str(config), "--format", "json", "--now", NOW, *args])
    assert run.code in (0, 1), run.err
    return run, {r["target"]: r for r in json.loads(run.out)["results"]}


def _messages(result: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in result["findings"]:
        found.setdefault(finding["rule"], []).append(finding["message"])
    return found


def test_rolling_images_are_judged_by_their_newest_package_build(cli: Cli, tmp_path: Path,
                                                                 rolling: Rolling) -> None:
    targets = [rolling.wolfi_fresh, rolling.wolfi_stale, rolling.edge, rolling.arch, rolling.tumbleweed, rolling.sid]
    run, results = _gate(cli, tmp_path, targets)
    assert run.code == 1
    assert results[rolling.wolfi_fresh]["outcome"] == "passed"
    assert any("Wolfi: its newest package, wget 1.25.0-r0, was built 2026-11-21, 3 days ago (at most 30 allowed)"
               in d for d in results[rolling.wolfi_fresh]["details"])
    assert _messages(results[rolling.wolfi_stale]) == {"base-image-rolling-stale": [
        "Wolfi: its newest package, wget 1.24.5-r0, was built 2026-09-10, 75 days ago, more than the 30 allowed (no"
        " release of a rolling distribution reaches end of life: its packages age instead)"]}
    assert results[rolling.edge]["outcome"] == "passed"
    assert any(d.startswith("Alpine edge is a rolling distribution") for d in results[rolling.edge]["details"])
    arch = _messages(results[rolling.arch])  # no package database gates reads: the image's own date
    assert arch == {"base-image-rolling-stale": [
        "Arch Linux: no package records a build time; the image was built 2026-06-01, 176 days ago, more than the 30"
        " allowed (no release of a rolling distribution reaches end of life: its packages age instead)"]}
    assert "openSUSE Tumbleweed: its newest package, bash 5.2.37-1.2, was built" in \
        _messages(results[rolling.tumbleweed])["base-image-rolling-stale"][0]
    assert _messages(results[rolling.sid]) == {}  # no package database: judged by the image's created
    assert any("Debian testing/unstable: no package records a build time; the image was built 2026-11-20, 4 days"
               " ago (at most 30 allowed)" in d for d in results[rolling.sid]["details"])
    assert all("base-image-os-unknown" not in _messages(r) for r in results.values())


def test_the_limit_and_an_unknown_age_follow_the_configuration(cli: Cli, tmp_path: Path, rolling: Rolling) -> None:
    _, results = _gate(cli, tmp_path, [rolling.wolfi_stale], "max-package-age-days = 100\n")
    assert results[rolling.wolfi_stale]["outcome"] == "passed"
    skip = 'skip-rules = ["base-image-age"]\n'
    _, results = _gate(cli, tmp_path, [rolling.arch_epoch], skip)
    assert _messages(results[rolling.arch_epoch]) == {"base-image-rolling-stale": [
        "Arch Linux: no package records a build time and the image's created is zero or epoch date (reproducible"
        " build) ('1970-01-01T00:00:00Z'): its age is unknown"]}
    _, results = _gate(cli, tmp_path, [rolling.arch_epoch], skip + 'unknown-age = "error"\n')
    assert results[rolling.arch_epoch]["outcome"] == "error"
    assert "Arch Linux: no package records a build time" in results[rolling.arch_epoch]["error"]


def test_version_less_distroless_is_the_release_its_base_files_say(cli: Cli, tmp_path: Path,
                                                                   rolling: Rolling) -> None:
    _, results = _gate(cli, tmp_path, [rolling.distroless, rolling.unknown])
    distroless = results[rolling.distroless]
    assert any("the release is debian 11, from etc/os-release + base-files 11.1+deb11u9" in d
               for d in distroless["details"])
    [eol] = _messages(distroless)["base-image-os-eol"]
    assert eol.startswith("debian 11 (Distroless) is end of life")
    assert "base-image-os-unknown" not in _messages(distroless)
    assert _messages(results[rolling.unknown]).keys() == {"base-image-os-unknown"}  # really not known


def test_rolling_advisories_where_osv_publishes_them(cli: Cli, tmp_path: Path, rolling: Rolling) -> None:
    osv = tmp_path / "osv"
    osv.mkdir()
    record = {"id": "CGA-2024-0001", "affected": [{"package": {"ecosystem": "Wolfi", "name": "wget"}, "ranges": [
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.25.0-r0"}]}]}]}
    (osv / "CGA-2024-0001.json").write_text(json.dumps(record), encoding="utf-8")
    _, results = _gate(cli, tmp_path, [rolling.wolfi_fresh, rolling.wolfi_stale, rolling.edge], "", "--advisories",
                       str(osv))
    assert results[rolling.wolfi_fresh]["outcome"] == "passed"
    assert _messages(results[rolling.wolfi_stale])["base-image-vulnerable-package"] == [
        "wget 1.24.5-r0 is affected by CGA-2024-0001: fixed in 1.25.0-r0"]
    edge = results[rolling.edge]
    assert edge["outcome"] == "passed"
    assert any("no OSV ecosystem publishes Alpine edge's advisories" in d for d in edge["details"])


def test_a_rolling_os_release_over_packages_of_another_kind_is_undecided(cli: Cli, tmp_path: Path,
                                                                         rolling: Rolling) -> None:
    """An Arch os-release over a dpkg database: the claim would pick no advisories and the ages alone would
    pass packages never checked; it is an error naming both."""
    osv = tmp_path / "osv"
    osv.mkdir()
    _, results = _gate(cli, tmp_path, [rolling.arch_dpkg, rolling.edge], "", "--advisories", str(osv))
    lying = results[rolling.arch_dpkg]
    assert lying["outcome"] == "error"
    assert "os-release names Arch Linux, which ships pacman packages, but the image holds 1 dpkg package" \
        in lying["error"]
    assert results[rolling.edge]["outcome"] == "passed"  # apk packages under Alpine edge's apk: as it claims


@pytest.mark.parametrize(("name", "rolling_name"), [
    ("wolfi", "Wolfi"), ("arch", "Arch Linux"), ("opensusetumbleweed", "openSUSE Tumbleweed"),
    ("alpine_3_22", None), ("debian_12", None), ("redhat_9", None),
])
def test_rolling_detection_on_real_os_release_files(name: str, rolling_name: str | None) -> None:
    release = release_from_os_release(_os_release(name))
    found = rolling_distribution(release)
    assert (found.name if found else None) == rolling_name


def test_newest_build_and_base_files() -> None:
    def package(name: str, version: str, built: int | None) -> InstalledPackage:
        return InstalledPackage(name, version, name, version, PackageManager.APK, build_time=built)

    newest = newest_build([package("a", "1", 5), package("b", "1", None), package("c", "1", 9)])
    assert newest is not None and newest.package.name == "c"
    assert newest_build([package("a", "1", None)]) is None
    release = release_from_os_release(OLD_DISTROLESS)
    assert release is not None
    completed = release_from_packages(release, [package("base-files", "12.4+deb12u11", None)])
    assert completed is not None and completed.version_id == "12"
    assert release_from_packages(release, [package("base-files", "not-a-version", None)]) is None


@pytest.mark.parametrize("built", [_seconds(-30), 999_999_999_999], ids=["next-month", "year-33658"])
def test_a_package_built_in_the_future_makes_the_age_unknown_not_fresh(built: int) -> None:
    """A build time after `now` is a lie about the image, not proof it is new: one such package would
    otherwise hide every stale one (and a year past 9999 must not raise)."""
    from gates.checks.base_image.rolling import staleness
    from gates.distro.pkgdb import PackageDB
    from gates.distro.rolling import Rolling as Distribution
    from gates.oci.image_config import parse_timestamp

    old = InstalledPackage("glibc", "2.39-r1", "glibc", "2.39-r1", PackageManager.APK, build_time=_seconds(400))
    liar = InstalledPackage("wget", "1.25.0-r0", "wget", "1.25.0-r0", PackageManager.APK, build_time=built)
    db = PackageDB(PackageManager.APK, (old, liar), (), ("lib/apk/db/installed",))
    measured = staleness(Distribution("Wolfi", ("Wolfi",)), db, parse_timestamp("2026-11-20T00:00:00Z"), 30, TODAY)
    assert measured.days is None and not measured.too_old
    assert "wget 1.25.0-r0" in measured.said and "future" in measured.said
