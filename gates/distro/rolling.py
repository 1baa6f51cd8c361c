"""Distributions without releases to retire, and images whose os-release names no release.

Wolfi, Chainguard, Alpine edge, Arch, openSUSE Tumbleweed and Debian testing/unstable never reach end
of life: each update replaces the last. What ages is the image: how long ago its distribution built the
newest package it holds (apk `t:`, rpm BUILDTIME), else when the image itself was built. So a rolling
image is judged by that age and by its packages' advisories, not by a support calendar.

Distroless Debian images whose os-release has no VERSION_ID still say their release through the
`base-files` package (`12.4+deb12u11` is Debian 12): `release_from_packages` supplies it, so such an
image is judged as the Debian release it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gates.distro.os_release import OSRelease
from gates.distro.pkgdb import InstalledPackage


@dataclass(frozen=True)
class Rolling:
    """A rolling distribution, as detected."""

    name: str
    """For messages: `Wolfi`, `Alpine edge`, `Arch Linux`, ..."""
    ecosystems: tuple[str, ...] = ()
    """OSV ecosystems publishing its advisories (none for Alpine edge, Arch, Debian testing)."""
    packages: str | None = None
    """The package manager it ships (`dpkg`, `apk`, `rpm`; `pacman`, which gates does not read): a database
    of another kind in the image means its os-release does not say what the image is."""


_ROLLING_IDS = {
    "wolfi": Rolling("Wolfi", ("Wolfi",), "apk"),
    "chainguard": Rolling("Chainguard", ("Chainguard",), "apk"),
    "arch": Rolling("Arch Linux", packages="pacman"),
    "archarm": Rolling("Arch Linux ARM", packages="pacman"),
    "opensuse-tumbleweed": Rolling("openSUSE Tumbleweed", ("openSUSE:Tumbleweed",), "rpm"),
}
_ALPINE_EDGE = re.compile(r"_alpha\d*$")


def rolling_distribution(release: OSRelease | None) -> Rolling | None:
    """The rolling distribution `release` is, None for a distribution with releases (or no OS at all)."""
    if release is None or release.id is None:
        return None
    rid = release.id.lower()
    if rid in _ROLLING_IDS:
        return _ROLLING_IDS[rid]
    pretty = (release.pretty_name or "").lower()
    if rid == "alpine" and (_ALPINE_EDGE.search(release.version_id or "") or pretty.endswith(" edge")):
        return Rolling("Alpine edge", packages="apk")
    if rid == "debian" and not release.version_id and ("sid" in pretty or "/" in pretty):
        return Rolling("Debian testing/unstable", packages="dpkg")
    return None


_BASE_FILES = re.compile(r"^(\d+)(?:\.\d+)*(?:[+~].*)?$")


def release_from_packages(release: OSRelease, packages: Iterable[InstalledPackage]) -> OSRelease | None:
    """A Debian release without VERSION_ID, completed from its `base-files` version; None when none says."""
    if (release.id or "").lower() != "debian" or release.version_id:
        return None
    for package in packages:
        if package.name == "base-files" and (match := _BASE_FILES.match(package.version)):
            return dataclasses.replace(release, version_id=match.group(1),
                                       source=f"{release.source} + base-files {package.version}")
    return None


@dataclass(frozen=True)
class NewestBuild:
    """The most recently built package of an image."""

    package: InstalledPackage
    built: dt.datetime


def newest_build(packages: Iterable[InstalledPackage]) -> NewestBuild | None:
    """The package built last (by apk `t:` or rpm BUILDTIME), None when no package records a build time."""
    best: InstalledPackage | None = None
    for package in packages:
        if package.build_time is not None and (best is None or package.build_time > (best.build_time or 0)):
            best = package
    if best is None or best.build_time is None:
        return None
    try:
        built = dt.datetime.fromtimestamp(best.build_time, dt.timezone.utc)
    except (ValueError, OverflowError, OSError):  # past year 9999: as far in the future as a date goes
        built = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return NewestBuild(best, built)
