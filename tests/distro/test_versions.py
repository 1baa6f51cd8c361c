"""dpkg and apk ordering: every corpus case, and the corner cases that break naive comparisons."""

from __future__ import annotations

import pytest

from gates.distro.versions import (
    UnsupportedVersion,
    VersionScheme,
    compare_versions,
    is_valid_version,
    scheme_for_ecosystem,
)
from tests.distro.corpus import load_json

DPKG, APK = VersionScheme.DPKG, VersionScheme.APK


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
