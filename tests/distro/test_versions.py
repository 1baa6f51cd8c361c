"""dpkg, apk and rpm ordering: every corpus case, the corner cases that break naive comparisons, and
rpm's order checked against rpm's own `rpmvercmp`."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess

import pytest

from gates.distro.versions import (
    UnsupportedVersion,
    VersionScheme,
    compare_versions,
    is_valid_version,
    scheme_for_ecosystem,
)
from tests.distro.corpus import load_json

DPKG, APK, RPM = VersionScheme.DPKG, VersionScheme.APK, VersionScheme.RPM


def test_every_corpus_case_orders_installed_against_fixed() -> None:
    cases = load_json("osv", "cases.json")["cases"]
    checked = 0
    for case in cases:
        if case["fixed_version"] is None:
            continue
        scheme = scheme_for_ecosystem(case["ecosystem"])
        assert scheme is not None
        order = compare_versions(scheme, case["installed_version"], case["fixed_version"])
        assert (order < 0) == (case["expected"] == "affected"), case
        checked += 1
    assert checked == 19


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.1.0l-1~deb9u5", "1.1.0l-1~deb9u6", -1),
        ("1.1.0l-1", "1.1.0l-1~deb9u6", 1),
        ("1.1.0l-1~deb9u10", "1.1.0l-1~deb9u6", 1),
        ("2.9.4+dfsg1-2.2", "2.9.4+dfsg1-2.2+deb9u7", -1),
        ("1:1.18.0", "1.18.26", 1),
        ("0:1.18.25", "1.18.25", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0-0", 0),
    ],
)
def test_dpkg(left: str, right: str, expected: int) -> None:
    assert compare_versions(DPKG, left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.2.5-r9", "1.2.5-r10", -1),
        ("2.6.7_rc1-r0", "2.6.7-r0", -1),
        ("2.6.7_p1-r0", "2.6.7-r0", 1),
        ("1.2.4-r3", "1.2.4_git20230717-r5", -1),
        ("1.2.4_git20230717-r5", "1.2.5-r0", -1),
        ("1.0_cvs1", "1.0_svn1", -1),
        ("1.0_svn9", "1.0_git1", -1),
        ("1.0_git9", "1.0_hg1", -1),
        ("1.0_hg9", "1.0_p1", -1),
        ("1.0_alpha9", "1.0_git1", -1),
        ("1.0_git1", "1.0_git1_alpha1", 1),
        ("1.0_git", "1.0_git0", 0),
        ("10.6.10-r0", "10.6.8-r0", 1),
        ("1.2.3a", "1.2.3b", -1),
    ],
)
def test_apk(left: str, right: str, expected: int) -> None:
    assert compare_versions(APK, left, right) == expected
    assert compare_versions(APK, right, left) == -expected


def test_unparsable_versions_are_refused_not_guessed() -> None:
    assert not is_valid_version(DPKG, "1:5.#")
    with pytest.raises(UnsupportedVersion, match=r"dpkg version '1:5\.#'"):
        compare_versions(DPKG, "1:5.#", "1.0")
    with pytest.raises(UnsupportedVersion):
        compare_versions(APK, "1.0_blah", "1.0")


def test_ecosystem_schemes() -> None:
    assert scheme_for_ecosystem("Debian:12") is DPKG
    assert scheme_for_ecosystem("Ubuntu:Pro:22.04:LTS") is DPKG
    assert scheme_for_ecosystem("Alpine:v3.19") is APK
    assert scheme_for_ecosystem("PyPI") is None


_RPM_CASES = [
    ("1.0~rc1", "1.0", -1),  # tilde sorts before the release it precedes
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~~", "1.0~", -1),
    ("1.0^", "1.0", 1),  # caret sorts after the bare version...
    ("1.0^git1", "1.0.1", -1),  # ...but before the next one
    ("1.0~rc1^git1", "1.0~rc1", 1),
    ("1.0~rc1^git1", "1.0", -1),
    ("1:1.0-1", "2.0-1", 1),  # the epoch first
    ("0:1.0-1", "1.0-1", 0),
    ("2.32.1-42.el8_8", "2.32.1-42.el8", 1),
    ("1.1.1k-12.el8_9", "1.1.1k-9.el8_7", 1),
    ("1.0a", "1.0", 1),
    ("1.0", "1.0.0", -1),
    ("1.01", "1.1", 0),  # leading zeroes do not count
    ("1.0.a", "1.0.1", -1),  # letters sort before digits
    ("5.2.15-3.el9", "5.2.15-3.el9_1", -1),
    ("2.0.1", "2_0_1", 0),  # separators are only separators
    ("20210518-2.fc35", "20210518-2.fc35", 0),
]


@pytest.mark.parametrize(("left", "right", "expected"), _RPM_CASES)
def test_rpm(left: str, right: str, expected: int) -> None:
    assert compare_versions(RPM, left, right) == expected
    assert compare_versions(RPM, right, left) == -expected


def _rpm_binary() -> str:
    found = shutil.which("rpm")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("needs Debian's rpm package under CI (.ci/run installs it)")
        pytest.skip("needs the rpm binary (Debian package rpm)")
    return found


def test_rpm_order_agrees_with_rpms_own_rpmvercmp_on_every_pair() -> None:
    versions = sorted({v for left, right, _ in _RPM_CASES for v in (left, right)})
    pairs = list(itertools.combinations(versions, 2))
    script = "".join(f'print(rpm.vercmp("{a}", "{b}") .. " ")' for a, b in pairs)
    out = subprocess.run([_rpm_binary(), "--eval", f"%{{lua: {script}}}"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert len(out) == len(pairs) > 300
    disagree = [(a, b, int(o)) for (a, b), o in zip(pairs, out, strict=True) if compare_versions(RPM, a, b) != int(o)]
    assert disagree == []


def test_rpm_versions_rpm_cannot_have_are_refused() -> None:
    for bad in ("1.0-1-1", "a:1.0", "1.0 -1", ""):
        assert not is_valid_version(RPM, bad), bad
    with pytest.raises(UnsupportedVersion, match=r"rpm version '1\.0-1-1'"):
        compare_versions(RPM, "1.0-1-1", "1.0")


def test_rpm_ecosystems_order_as_rpm() -> None:
    for ecosystem in ("Red Hat:enterprise_linux:9::appstream", "AlmaLinux:9", "Rocky Linux:8", "SUSE:Linux "
                      "Enterprise Server 15 SP5", "openSUSE:Leap 15.5", "Azure Linux:3", "Mariner:2.0",
                      "Amazon Linux:2023"):
        assert scheme_for_ecosystem(ecosystem) is RPM, ecosystem
    assert scheme_for_ecosystem("Wolfi") is APK and scheme_for_ecosystem("Chainguard") is APK
