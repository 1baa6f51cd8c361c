"""OSV matching against the corpus records and cases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gates.distro.advisories import (
    AdvisoryDBError,
    AdvisoryIndex,
    cvss3_base_score,
    ecosystems_for_release,
    iter_records,
    parse_record,
)
from gates.distro.os_release import OSRelease
from gates.distro.pkgdb import InstalledPackage, PackageManager
from gates.model import Severity
from tests.distro.corpus import corpus_path, load_json


def _package(case: dict[str, str]) -> InstalledPackage:
    manager = PackageManager.APK if case["ecosystem"].startswith("Alpine") else PackageManager.DPKG
    return InstalledPackage(
        name=case["binary_package_hint"],
        version=case["installed_version"],
        source_name=case["package"],
        source_version=case["installed_version"],
        manager=manager,
    )


@pytest.fixture(scope="module")
def index() -> AdvisoryIndex:
    return AdvisoryIndex.load(corpus_path("osv", "records"))


def test_loads_every_record(index: AdvisoryIndex) -> None:
    assert index.count == 17
    assert "debian:9" in index.ecosystems() and "alpine:v3.19" in index.ecosystems()


def test_agrees_with_every_case(index: AdvisoryIndex) -> None:
    cases = load_json("osv", "cases.json")["cases"]
    agreed = 0
    for case in cases:
        report = index.match(case["ecosystem"], [_package(case)])
        assert report.undecided == ()
        hits = [m for m in report.matches if m.advisory_id in case["advisory_ids"]]
        if case["expected"] == "affected":
            assert len(hits) == 1, case
            hit = hits[0]
            assert hit.fixed_version == case["fixed_version"], case
            assert (hit.package, hit.source_package) == (case["binary_package_hint"], case["package"])
            assert hit.installed_version == case["installed_version"]
        else:
            assert hits == [], case
        agreed += 1
    assert agreed == len(cases) == 20


def test_unfixed_and_severity_filters(index: AdvisoryIndex) -> None:
    wget = InstalledPackage("wget", "1.21.3-1+deb12u1", "wget", "1.21.3-1+deb12u1", PackageManager.DPKG)
    report = index.match("Debian:12", [wget])
    assert [(m.advisory_id, m.fixed_version) for m in report.matches] == [("CVE-2024-10524", None)]
    assert index.match("Debian:12", [wget], ignore_unfixed=True).matches == ()
    assert index.match("Debian:12", [wget], ignore_unfixed=True).suppressed == 1
    # no severity in the record: unknown is kept unless asked otherwise
    assert len(index.match("Debian:12", [wget], min_severity=Severity.HIGH).matches) == 1
    assert index.match("Debian:12", [wget], min_severity=Severity.HIGH, keep_unrated=False).matches == ()

    musl = InstalledPackage("musl", "1.2.5-r9", "musl", "1.2.5-r9", PackageManager.APK)
    hit = index.match("Alpine:v3.22", [musl]).matches[0]
    # CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H = 7.0
    assert (hit.severity, hit.severity_source) == (Severity.HIGH, "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H")
    assert index.match("Alpine:v3.22", [musl], min_severity=Severity.CRITICAL).matches == ()


def test_ubuntu_priority_is_a_severity(index: AdvisoryIndex) -> None:
    rabbit = InstalledPackage(
        "rabbitmq-server", "3.8.2-0ubuntu1.5", "rabbitmq-server", "3.8.2-0ubuntu1.5", PackageManager.DPKG
    )
    hit = index.match("Ubuntu:20.04:LTS", [rabbit]).matches[0]
    assert hit.severity is Severity.MEDIUM  # CVSS 6.5 and ubuntu_priority medium agree


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N", 6.5),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ],
)
def test_cvss3_base_score(vector: str, score: float) -> None:
    assert cvss3_base_score(vector) == score


def test_cvss_garbage() -> None:
    assert cvss3_base_score("CVSS:2.0/AV:N") is None
    assert cvss3_base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") is None


def test_zip_database_like_osv_publishes(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    records = sorted(corpus_path("osv", "records", "Debian").glob("*.json"))
    with zipfile.ZipFile(archive, "w") as out:
        for record in records:
            out.write(record, record.name)
    index = AdvisoryIndex.load(archive)
    assert index.count == len(records) == 8
    openssl = InstalledPackage("libssl1.1", "1.1.0l-1~deb9u5", "openssl", "1.1.0l-1~deb9u5", PackageManager.DPKG)
    assert [m.advisory_id for m in index.match("Debian:9", [openssl]).matches] == ["DLA-3008-1"]


def test_bad_records_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AdvisoryDBError, match=r"bad\.json: not JSON"):
        list(iter_records(tmp_path))
    with pytest.raises(AdvisoryDBError, match="no string 'id'"):
        parse_record(json.dumps({"affected": []}), "x.json")
    with pytest.raises(AdvisoryDBError, match="no such advisory database"):
        list(iter_records(tmp_path / "missing"))


def test_null_versions_and_last_affected() -> None:
    record = parse_record(
        {
            "id": "TEST-1",
            "affected": [
                {
                    "package": {"ecosystem": "Debian:12", "name": "foo"},
                    "versions": None,
                    "ranges": [
                        {"type": "GIT", "events": [{"introduced": "abc"}]},
                        {"type": "ECOSYSTEM", "events": [{"introduced": "1.0-1"}, {"last_affected": "1.5-1"}]},
                    ],
                }
            ],
        }
    )
    index = AdvisoryIndex.from_records([record])

    def hit(version: str) -> bool:
        pkg = InstalledPackage("foo", version, "foo", version, PackageManager.DPKG)
        return bool(index.match("Debian:12", [pkg]).matches)

    assert [hit(v) for v in ("0.9-1", "1.0-1", "1.5-1", "1.5-2", "1:0.1")] == [False, True, True, False, False]


def test_unorderable_version_is_undecided_not_safe() -> None:
    record = parse_record(
        {
            "id": "TEST-2",
            "affected": [
                {
                    "package": {"ecosystem": "Alpine:v3.19", "name": "bar"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0_blah-r0"}]}],
                }
            ],
        }
    )
    pkg = InstalledPackage("bar", "0.9-r0", "bar", "0.9-r0", PackageManager.APK)
    report = AdvisoryIndex.from_records([record]).match("Alpine:v3.19", [pkg])
    assert report.matches == ()
    assert len(report.undecided) == 1 and report.undecided[0].startswith("TEST-2 bar 0.9-r0:")


def test_ecosystems_for_release() -> None:
    def release(rid: str, version: str, pretty: str | None = None) -> OSRelease:
        return OSRelease(id=rid, version_id=version, pretty_name=pretty, version=pretty)

    assert ecosystems_for_release(release("debian", "12.5")) == ("Debian:12",)
    assert ecosystems_for_release(release("alpine", "3.19.1")) == ("Alpine:v3.19",)
    assert ecosystems_for_release(release("ubuntu", "22.04", "22.04.4 LTS (Jammy Jellyfish)")) == ("Ubuntu:22.04:LTS",)
    assert ecosystems_for_release(release("ubuntu", "24.10", "24.10 (Oracular Oriole)")) == ("Ubuntu:24.10",)
    assert ecosystems_for_release(release("fedora", "40")) == ()


def test_every_entry_of_an_advisory_is_evaluated() -> None:
    """Found by review: a second entry for the same package was skipped once the first did not apply."""
    record = parse_record({
        "id": "TEST-3",
        "affected": [
            {"package": {"ecosystem": "Debian:13", "name": "wget"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}]},
            {"package": {"ecosystem": "Debian:13", "name": "wget"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.26.0-1"}]}]},
        ],
    })
    pkg = InstalledPackage("wget", "1.25.0-1", "wget", "1.25.0-1", PackageManager.DPKG)
    [match] = AdvisoryIndex.from_records([record]).match("Debian:13", [pkg]).matches
    assert match.fixed_version == "1.26.0-1"
