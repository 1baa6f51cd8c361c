"""Which distribution and release an image runs, from the files Trivy and Syft read.

End-of-life and advisory matching both key on (distribution, version), so detection must be exact:
`etc/os-release` first (then `usr/lib/os-release`), `etc/debian_version` for Debian's point release
(distroless images ship an os-release without VERSION_ID), then the pre-os-release files
(`etc/system-release-cpe`, `etc/redhat-release`, `etc/alpine-release`) and BusyBox's banner last.
Parsing works on bytes handed in by a reader, so it never touches a layer itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")
"""Where os-release lives, in the order the spec (and Trivy and Syft) read it."""

IDENTITY_PATHS = (
    *OS_RELEASE_PATHS,
    "etc/system-release-cpe",
    "etc/redhat-release",
    "etc/alpine-release",
    "etc/debian_version",
    "bin/busybox",
)
"""Every file `identify_release` may ask for; a layer reader can fetch just these."""

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Larger identity files are not real ones; only a prefix is read."""

FileReader = Callable[[str], "bytes | None"]
"""Returns a file's bytes by image-relative path (no leading slash), or None when absent."""


@dataclass(frozen=True)
class OSRelease:
    """A detected distribution release."""

    id: str | None
    """`ID` as written (lower-case by spec), e.g. `debian`, `alpine`, `rhel`, `amzn`."""
    version_id: str | None
    """`VERSION_ID`, refined by `etc/debian_version` on Debian (`12` -> `12.5`)."""
    version_codename: str | None = None
    id_like: tuple[str, ...] = ()
    name: str | None = None
    pretty_name: str | None = None
    version: str | None = None
    """`VERSION`, free text such as `22.04.4 LTS (Jammy Jellyfish)`."""
    cpe_name: str | None = None
    source: str = ""
    """The file the release was read from."""
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Every key of the os-release file, for callers that need more."""

    @property
    def family(self) -> str | None:
        """A Trivy-compatible family name (`redhat`, `alma`, `oracle`, ...), None if unknown."""
        if self.id is None:
            return None
        family = _FAMILIES.get(self.id)
        if family == "centos" and self.name == "CentOS Stream":
            return "centos-stream"
        return family


_FAMILIES: dict[str, str] = {
    "activestate": "activestate",
    "alpine": "alpine",
    "almalinux": "alma",
    "amzn": "amazon",
    "azurelinux": "azurelinux",
    "bottlerocket": "bottlerocket",
    "centos": "centos",
    "chainguard": "chainguard",
    "coreos": "coreos",
    "debian": "debian",
    "echo": "echo",
    "fedora": "fedora",
    "mariner": "cbl-mariner",
    "minimos": "minimos",
    "ol": "oracle",
    "opensuse": "opensuse-leap",
    "opensuse-leap": "opensuse-leap",
    "opensuse-tumbleweed": "opensuse-tumbleweed",
    "photon": "photon",
    "rhel": "redhat",
    "rocky": "rocky",
    "sle-micro": "slem",
    "sle-micro-rancher": "slem",
    "sl-micro": "slem",
    "sles": "sles",
    "ubuntu": "ubuntu",
    "wolfi": "wolfi",
}
"""os-release ID -> family, as Trivy's os-release analyzer maps them, plus the IDs Trivy detects
from other files (debian, ubuntu, amzn)."""


_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return data[:MAX_FILE_BYTES].decode("utf-8", errors="replace")


def _unquote(raw: str) -> str:
    """Undo os-release(5) shell quoting: '...' literal, "..." with \\-escapes, bare words."""
    value = raw.strip()
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "'":
            end = value.find("'", i + 1)
            end = len(value) if end < 0 else end
            out.append(value[i + 1 : end])
            i = end + 1
        elif ch == '"':
            i += 1
            while i < len(value) and value[i] != '"':
                if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in '$"\\`\n':
                    i += 1
                out.append(value[i])
                i += 1
            i += 1
        elif ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
        elif ch == "#" and (i == 0 or value[i - 1].isspace()):
            break  # a trailing shell comment
        else:
            out.append(ch)
            i += 1
    return "".join(out).strip()


def parse_os_release(data: bytes | str) -> dict[str, str]:
    """Key/value pairs of an os-release file; comments, blank and malformed lines are skipped."""
    values: dict[str, str] = {}
    for line in _decode(data).splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGNMENT.match(stripped)
        if match is None:
            continue
        values[match.group(1)] = _unquote(match.group(2))
    return values


def release_from_os_release(data: bytes | str, source: str = "etc/os-release") -> OSRelease | None:
    """An `OSRelease` from os-release content, or None when the file holds no known key."""
    values = parse_os_release(data)

    def get(key: str) -> str | None:
        value = values.get(key)
        return value if value else None

    release = OSRelease(
        id=get("ID"),
        version_id=get("VERSION_ID"),
        version_codename=get("VERSION_CODENAME"),
        id_like=tuple(values.get("ID_LIKE", "").split()),
        name=get("NAME"),
        pretty_name=get("PRETTY_NAME"),
        version=get("VERSION"),
        cpe_name=get("CPE_NAME"),
        source=source,
        fields=values,
    )
    known = (release.id, release.version_id, release.name, release.pretty_name, release.version)
    if not any(known) and not release.id_like:
        return None
    return release


_SYSTEM_RELEASE_CPE = re.compile(r"cpe:/o:(.*?):.*?:(.*?):.*?$", re.MULTILINE)
_REDHAT_RELEASE = re.compile(r"(?P<name>.*?)\srelease\s(?P<version>(?P<versionid>\d\.\d+).*)")
_BUSYBOX = re.compile(rb"BusyBox v([\d.]+)")
_NUMERIC_RELEASE = re.compile(r"^\d+(?:\.\d+)?$")
_ALPINE_RELEASE = re.compile(r"^\d+\.\d+(?:\.\d+)?(?:_[a-z]+\d*)?$")


def _simple(pretty: str, name: str, version: str, cpe: str | None, source: str) -> OSRelease:
    return OSRelease(
        id=name,
        version_id=version,
        id_like=(name,),
        name=name,
        pretty_name=pretty,
        version=version,
        cpe_name=cpe,
        source=source,
    )


def parse_system_release_cpe(data: bytes | str) -> OSRelease | None:
    """CentOS 6's `etc/system-release-cpe` (`cpe:/o:centos:linux:6:GA`)."""
    match = _SYSTEM_RELEASE_CPE.search(_decode(data))
    if match is None:
        return None
    vendor = match.group(1)
    return _simple(vendor, vendor.lower(), match.group(2), match.group(0), "etc/system-release-cpe")


def parse_redhat_release(data: bytes | str) -> OSRelease | None:
    """`etc/redhat-release` (`CentOS release 5.7 (Final)`), for releases older than os-release."""
    contents = _decode(data).strip()
    match = _REDHAT_RELEASE.search(contents)
    if match is None:
        return None
    name, version, version_id = match.group("name"), match.group("version"), match.group("versionid")
    rid = name.lower()
    if rid.startswith("red hat enterprise linux"):
        rid = "rhel"
    elif rid.startswith("centos"):
        version = version_id  # drop "(Final)"
    elif rid.startswith("rocky linux"):
        rid = "rocky"
    elif rid.startswith("scientific linux"):
        rid = "scientific"
    id_like = (rid,) if rid == "rhel" else (rid, "rhel")
    return OSRelease(
        id=rid,
        version_id=version_id,
        id_like=id_like,
        name=name,
        pretty_name=contents,
        version=version,
        source="etc/redhat-release",
    )


def parse_debian_version(data: bytes | str) -> str | None:
    """The point release in `etc/debian_version` (`12.5`); None for `trixie/sid` and the like."""
    text = _decode(data).strip()
    return text if _NUMERIC_RELEASE.match(text) else None


def parse_alpine_release(data: bytes | str) -> str | None:
    """The release in `etc/alpine-release` (`3.19.1`), None if it is not a version."""
    text = _decode(data).strip()
    return text if _ALPINE_RELEASE.match(text) else None


def parse_busybox(data: bytes) -> OSRelease | None:
    """A BusyBox-only image, from the version banner inside `bin/busybox`."""
    match = _BUSYBOX.search(data[:MAX_FILE_BYTES])
    if match is None:
        return None
    version = match.group(1).decode("ascii")
    return _simple(match.group(0).decode("ascii"), "busybox", version, None, "bin/busybox")


def _supplement_debian(release: OSRelease, read: FileReader) -> OSRelease:
    """Debian keeps its point release in debian_version only; distroless has no VERSION_ID at all."""
    if (release.id or "").lower() != "debian":
        return release
    data = read("etc/debian_version")
    point = parse_debian_version(data) if data is not None else None
    if point is None:
        return release
    return OSRelease(
        id=release.id,
        version_id=point,
        version_codename=release.version_codename,
        id_like=release.id_like,
        name=release.name,
        pretty_name=release.pretty_name,
        version=release.version or point,
        cpe_name=release.cpe_name,
        source=release.source,
        fields=release.fields,
    )


def identify_release(read: FileReader) -> OSRelease | None:
    """The image's release from its identity files (see `IDENTITY_PATHS`), or None if unknown."""
    for path in OS_RELEASE_PATHS:
        data = read(path)
        if data is None:
            continue
        release = release_from_os_release(data, source=path)
        if release is not None:
            return _supplement_debian(release, read)
    for path, parse in (
        ("etc/system-release-cpe", parse_system_release_cpe),
        ("etc/redhat-release", parse_redhat_release),
    ):
        data = read(path)
        if data is not None and (release := parse(data)) is not None:
            return release
    data = read("etc/alpine-release")
    if data is not None and (version := parse_alpine_release(data)) is not None:
        return _simple(f"Alpine Linux v{version}", "alpine", version, None, "etc/alpine-release")
    data = read("etc/debian_version")
    if data is not None and (version := parse_debian_version(data)) is not None:
        return _simple(f"Debian {version}", "debian", version, None, "etc/debian_version")
    data = read("bin/busybox")
    if data is not None:
        return parse_busybox(data)
    return None


def directory_reader(root: Path) -> FileReader:
    """A `FileReader` over an unpacked root filesystem that never leaves `root` (for tests and tools)."""
    base = root.resolve()

    def read(path: str) -> bytes | None:
        target = (base / path.lstrip("/")).resolve()
        if target != base and base not in target.parents:
            return None
        if not target.is_file():
            return None
        with target.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES)

    return read
