"""RPM distributions: which OSV ecosystems a real os-release maps to, binary or source package matching as
each feed keys its records, and end-of-life answers for RHEL/UBI, AlmaLinux, Rocky, Amazon Linux, SUSE.

The corpus holds no OSV record of an RPM ecosystem, so the records below are written here in the shape
each feed publishes (ecosystem string, package naming, epoch-prefixed fixed versions for Red Hat)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gates.distro.advisories import (
    AdvisoryDBError,
    AdvisoryIndex,
    covered_ecosystems,
    ecosystems_for_release,
    parse_record,
)
from gates.distro.eol import EolStatus, load_eol_data
from gates.distro.os_release import release_from_os_release
from gates.distro.pkgdb import InstalledPackage, PackageManager
from tests.distro.corpus import corpus_path


def _release(name: str) -> Any:
    data = corpus_path("extras", "os-release", "chef-os_release", name).read_bytes()
    release = release_from_os_release(data)
    assert release is not None
    return release


@pytest.mark.parametrize(
    ("name", "ecosystems"),
    [
        ("redhat_8", ("Red Hat:enterprise_linux:8",)),
        ("redhat_9", ("Red Hat:enterprise_linux:9",)),
        ("alma_9", ("AlmaLinux:9",)),
        ("rocky_8", ("Rocky Linux:8",)),
        ("amazon_2", ("Amazon Linux:2",)),
        ("amazon_2023", ("Amazon Linux:2023",)),
        ("sles_15", ("SUSE:Linux Enterprise 15 SP7",)),
        ("sles_12", ("SUSE:Linux Enterprise 12 SP5",)),
        ("opensuseleap_15", ("openSUSE:Leap 15.6",)),
        ("opensusetumbleweed", ("openSUSE:Tumbleweed",)),
        ("azurelinux_3", ("Azure Linux:3", "Azure Linux:3.0")),
        ("cbl-mariner_2", ("Mariner:2", "Mariner:2.0", "Azure Linux:2", "Azure Linux:2.0")),
        ("wolfi", ("Wolfi",)),
    ],
)
def test_real_os_release_files_name_their_ecosystems(name: str, ecosystems: tuple[str, ...]) -> None:
    assert ecosystems_for_release(_release(name)) == ecosystems


def test_red_hat_repositories_and_suse_products_are_covered_by_their_release() -> None:
    available = ["Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos",
                 "Red Hat:enterprise_linux:8::baseos", "Red Hat:enterprise_linux:90::baseos",
                 "SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Micro 15 SP5",
                 "SUSE:Linux Enterprise Server 15 SP5-LTSS", "SUSE:Linux Enterprise Server 15 SP50",
                 "SUSE:Linux Enterprise Server 15", "AlmaLinux:9"]
    assert covered_ecosystems(("Red Hat:enterprise_linux:9",), available) == (
        "Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos")
    assert covered_ecosystems(("SUSE:Linux Enterprise 15 SP5",), available) == (
        "SUSE:Linux Enterprise Micro 15 SP5", "SUSE:Linux Enterprise Server 15 SP5",
        "SUSE:Linux Enterprise Server 15 SP5-LTSS")
    assert covered_ecosystems(("SUSE:Linux Enterprise 15",), available) == ("SUSE:Linux Enterprise Server 15",)
    assert covered_ecosystems(("almalinux:9", "Rocky Linux:9"), available) == ("AlmaLinux:9",)


def _record(ident: str, ecosystem: str, package: str, fixed: str) -> dict[str, Any]:
    return {"id": ident, "aliases": ["CVE-2024-0001"], "affected": [{
        "package": {"ecosystem": ecosystem, "name": package},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
    }]}


def _rpm(name: str, evr: str, source: str, source_evr: str) -> InstalledPackage:
    return InstalledPackage(name=name, version=evr, source_name=source, source_version=source_evr,
                            manager=PackageManager.RPM)


LIBUUID = _rpm("libuuid", "2.32.1-42.el8_8", "util-linux", "2.32.1-42.el8_8")


def test_binary_ecosystems_match_the_installed_rpm_not_its_source() -> None:
    index = AdvisoryIndex.from_records(parse_record(r) for r in (
        _record("RHSA-2024:0001", "Red Hat:enterprise_linux:8::baseos", "libuuid", "0:2.32.1-44.el8_9"),
        _record("RHSA-2024:0002", "Red Hat:enterprise_linux:8::baseos", "util-linux", "0:2.32.1-44.el8_9"),
        _record("ALSA-2024:0001", "AlmaLinux:8", "libuuid", "2.32.1-42.el8_8"),
    ))
    report = index.match("Red Hat:enterprise_linux:8::baseos", [LIBUUID])
    [match] = report.matches
    assert (match.advisory_id, match.package, match.source_package, match.fixed_version) == (
        "RHSA-2024:0001", "libuuid", "libuuid", "0:2.32.1-44.el8_9")
    assert index.match("AlmaLinux:8", [LIBUUID]).matches == ()  # installed == fixed: not affected


def test_source_ecosystems_match_the_spec_name() -> None:
    curl = _rpm("libcurl", "7.76.0-6.cm2", "curl", "7.76.0-6.cm2")
    index = AdvisoryIndex.from_records([parse_record(_record("CVE-2023-38545", "Mariner:2.0", "curl",
                                                             "8.4.0-1.cm2"))])
    [match] = index.match("Mariner:2.0", [curl]).matches
    assert (match.package, match.source_package, match.fixed_version) == ("libcurl", "curl", "8.4.0-1.cm2")


def test_epoch_decides_before_the_version() -> None:
    vim = _rpm("vim-minimal", "2:9.0-1.cm2", "vim", "2:9.0-1.cm2")
    index = AdvisoryIndex.from_records([
        parse_record(_record("A-1", "Azure Linux:3", "vim", "9.1-1.azl3")),  # epoch 0 fix: 2:9.0 is newer
        parse_record(_record("A-2", "Azure Linux:3", "vim", "2:9.1-1.azl3")),
    ])
    assert [m.advisory_id for m in index.match("Azure Linux:3", [vim]).matches] == ["A-2"]


@pytest.mark.parametrize(
    ("name", "status", "product"),
    [
        ("redhat_8", EolStatus.SUPPORTED, "rhel"),
        ("redhat_7", EolStatus.END_OF_LIFE, "rhel"),
        ("alma_8", EolStatus.SUPPORTED, "almalinux"),
        ("rocky_9", EolStatus.SUPPORTED, "rocky-linux"),
        ("amazon_2023", EolStatus.SUPPORTED, "amazon-linux"),
        ("amazon_2018", EolStatus.END_OF_LIFE, "amazon-linux"),
        ("sles_15", EolStatus.SUPPORTED, "sles"),
        ("sles_12", EolStatus.END_OF_LIFE, "sles"),
        ("opensuseleap_15", EolStatus.END_OF_LIFE, "opensuse"),
    ],
)
def test_rpm_distributions_have_end_of_life_answers(name: str, status: EolStatus, product: str) -> None:
    db = load_eol_data()
    release = _release(name)
    answer = db.release_status(release, dt.date(2026, 11, 24))
    assert answer.status is status, answer.reason
    assert answer.cycle is not None and answer.cycle.product == product


def test_a_module_streams_fix_applies_to_that_stream_only() -> None:
    def nodejs(label: str | None) -> InstalledPackage:
        return InstalledPackage(name="nodejs", version="1:10.24.0-1.module+el8.3.0+101+f84c7154",
                                source_name="nodejs", source_version="1:10.24.0-1.module+el8.3.0+101+f84c7154",
                                manager=PackageManager.RPM, module=label)

    record = _record("RHSA-2021:0548", "Red Hat:enterprise_linux:8::appstream", "nodejs", "1:10.24.0-2.module+el8")
    record["affected"][0]["package"]["purl"] = ("pkg:rpm/redhat/nodejs?arch=x86_64"
                                                "&rpmmod=nodejs:10:8030020210304194401:9f9e2e7e")
    plain = _record("RHSA-2021:0549", "Red Hat:enterprise_linux:8::appstream", "nodejs", "1:10.24.0-2.el8")
    index = AdvisoryIndex.from_records([parse_record(record), parse_record(plain)])
    ecosystem = "Red Hat:enterprise_linux:8::appstream"

    def ids(label: str | None) -> list[str]:
        return sorted(m.advisory_id for m in index.match(ecosystem, [nodejs(label)]).matches)

    assert ids("nodejs:10:8020020200707141642:6a468ee4") == ["RHSA-2021:0548", "RHSA-2021:0549"]
    assert ids("nodejs:12:8030020201124152102:229f0a1c") == ["RHSA-2021:0549"]  # another stream's fix: not this
    assert ids(None) == ["RHSA-2021:0549"]
    with pytest.raises(AdvisoryDBError, match="an affected 'package' is not an object"):
        parse_record({"id": "X-1", "affected": [{"package": "nodejs"}]})
