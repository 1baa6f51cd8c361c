"""Distribution version ordering (dpkg, apk, rpm) on the `univers` library.

Vulnerability matching is only as good as its version comparison: `1.1.0l-1~deb9u5 < 1.1.0l-1~deb9u6`,
epochs, and apk's `_rc` / `_p` / `_git` suffixes all trip a naive compare. Ordering comes from
`univers` (Apache-2.0): `DebianVersion` implements Debian Policy 5.6.12; `AlpineLinuxVersion` reuses
pkgcore's Gentoo ordering, which apk follows except for apk's extra post-release suffixes
(`_cvs`, `_svn`, `_git`, `_hg`, univers issue #59). `_gentoo_form` rewrites only those suffixes into
an order-preserving Gentoo form; anything univers still rejects raises `UnsupportedVersion`, so a
package is never silently treated as "not affected". `RpmVersion` is rpm's `rpmvercmp` (epoch, then
version and release compared segment by segment, `~` sorting before and `^` after the bare version).
"""

from __future__ import annotations

import functools
import re
from enum import Enum

from univers.versions import AlpineLinuxVersion, DebianVersion, InvalidVersion, RpmVersion, Version

from gates.errors import InputError


class VersionScheme(str, Enum):
    """How a distribution orders its package versions."""

    DPKG = "dpkg"
    APK = "apk"
    RPM = "rpm"


class UnsupportedVersion(InputError):
    """A version string the scheme's ordering cannot parse: the package cannot be judged."""


_APK_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_APK_POST_RANK = {"cvs": 1, "svn": 2, "git": 3, "hg": 4, "p": 5}
"""apk orders post-release suffixes cvs < svn < git < hg < p (apk-tools src/version.c)."""


def _gentoo_form(version: str) -> str:
    """Map apk suffixes onto Gentoo's grammar, keeping apk's order.

    Gentoo knows one post-release suffix (`_p`), apk five. Each apk post suffix `_xN` becomes two
    Gentoo suffixes `_pR_pN`, R its rank, so suffix lists still compare element by element in apk
    order; pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) are already Gentoo's.
    """
    if "_" not in version:
        return version

    def rewrite(match: re.Match[str]) -> str:
        word, number = match.group(1), match.group(2)
        rank = _APK_POST_RANK.get(word)
        if rank is None:
            return match.group(0)
        return f"_p{rank}_p{number}"

    return _APK_SUFFIX.sub(rewrite, version)


@functools.lru_cache(maxsize=65536)
def parse_version(scheme: VersionScheme, version: str) -> Version:
    """Parse `version` under `scheme`; raise `UnsupportedVersion` when the ordering cannot."""
    text = version.strip()
    try:
        if scheme is VersionScheme.DPKG:
            return DebianVersion(text)
        if scheme is VersionScheme.RPM:
            return _rpm_version(text)
        return AlpineLinuxVersion(_gentoo_form(text))
    except (InvalidVersion, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UnsupportedVersion(f"{scheme.value} version {version!r} cannot be parsed") from exc


_RPM_EVR = re.compile(r"^(?:(\d{1,10}):)?([^\s:-]+)(?:-([^\s:-]+))?$")


def _rpm_version(text: str) -> Version:
    """`[epoch:]version[-release]`; rpm forbids `-` in version and release and `:` outside the epoch."""
    if _RPM_EVR.match(text) is None:
        raise InvalidVersion(text)
    return RpmVersion(text)


def compare_versions(scheme: VersionScheme, left: str, right: str) -> int:
    """-1, 0 or 1 as `left` sorts before, equal to, or after `right` in `scheme`."""
    a, b = parse_version(scheme, left), parse_version(scheme, right)
    if a < b:
        return -1
    if a > b:
        return 1
    return 0


def is_valid_version(scheme: VersionScheme, version: str) -> bool:
    """True when `version` parses under `scheme`."""
    try:
        parse_version(scheme, version)
    except UnsupportedVersion:
        return False
    return True


def scheme_for_ecosystem(ecosystem: str) -> VersionScheme | None:
    """The ordering of an OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`), if known."""
    base = ecosystem.split(":", 1)[0].strip().lower()
    if base in _DPKG_ECOSYSTEMS:
        return VersionScheme.DPKG
    if base in _APK_ECOSYSTEMS:
        return VersionScheme.APK
    if base in _RPM_ECOSYSTEMS:
        return VersionScheme.RPM
    return None


_DPKG_ECOSYSTEMS = frozenset({"debian", "ubuntu"})
_APK_ECOSYSTEMS = frozenset({"alpine", "wolfi", "chainguard"})
_RPM_ECOSYSTEMS = frozenset({"red hat", "almalinux", "rocky linux", "suse", "opensuse", "azure linux", "mariner",
                             "amazon linux"})
