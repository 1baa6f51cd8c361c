"""Installed OS packages from dpkg, apk and rpm databases, keyed the way advisories key them.

The patch-level check matches what is installed against OSV advisories, and OSV's Debian records
name *source* packages (`openssl`, not `libssl3`), Alpine's name origins (`o:`). So each package
keeps its source name and version next to its own. Databases: dpkg `var/lib/dpkg/status`, the
per-package files of distroless `var/lib/dpkg/status.d/*`, apk `lib/apk/db/installed`, and the rpm
databases `gates.distro.rpmdb` reads (SQLite, BerkeleyDB, NDB, the distroless Mariner manifest).

A broken entry is never skipped in silence: it becomes a one-line problem `FILE:LINE: what`, and
with `strict=True` (the default) the parse fails with `PackageDBError`, so the gate reports an
error instead of passing an image whose packages it could not all read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from gates.distro.rpmdb import PSEUDO_PACKAGES, is_rpmdb_path, read_rpmdb
from gates.distro.rpmheader import source_package
from gates.distro.versions import VersionScheme, is_valid_version
from gates.errors import InputError

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_DIR = "var/lib/dpkg/status.d"
APK_INSTALLED = "lib/apk/db/installed"

_STATUS_D_SKIP = (".md5sums", ".preinst", ".postinst", ".prerm", ".postrm", ".conffiles", ".list")
"""Distroless keeps md5sums and maintainer scripts beside the per-package status files."""

_NOT_ON_DISK = frozenset({"not-installed", "config-files"})
"""dpkg states whose files are gone; every other state leaves the package's code in the image."""


class PackageManager(str, Enum):
    DPKG = "dpkg"
    APK = "apk"
    RPM = "rpm"

    @property
    def scheme(self) -> VersionScheme:
        return VersionScheme(self.value)


class PackageDBError(InputError):
    """A package database has entries that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class InstalledPackage:
    """One installed package."""

    name: str
    """Binary package name (`libssl3`)."""
    version: str
    """Installed version, as the database writes it (with epoch for dpkg, `-rN` for apk)."""
    source_name: str
    """dpkg `Source:` name / apk origin (`o:`); the name itself when absent."""
    source_version: str
    """dpkg `Source: name (version)` version (binNMUs differ); the version itself when absent."""
    manager: PackageManager
    arch: str | None = None
    location: str = ""
    """`FILE:LINE` of the entry (`FILE#RECORD` in a binary rpm database)."""
    build_time: int | None = None
    """When the distribution built the package (apk `t:`, rpm BUILDTIME), seconds since the epoch."""
    module: str | None = None
    """rpm MODULARITYLABEL (`nodejs:10:8020020200707141642:6a468ee4`): the module stream it came from."""


@dataclass(frozen=True)
class PackageDB:
    """The packages read from one or more database files of one package manager."""

    manager: PackageManager
    packages: tuple[InstalledPackage, ...]
    problems: tuple[str, ...] = ()
    """One line per broken entry (`FILE:LINE: what`); non-empty only with `strict=False`."""
    files: tuple[str, ...] = ()


def _lines(data: bytes | str) -> list[str]:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return [line.rstrip("\r") for line in text.split("\n")]


def _raise_if_strict(path: str, problems: list[str], strict: bool) -> None:
    if strict and problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PackageDBError(problems[0] + more)


_FIELD = re.compile(r"^([!-9;-~][!-9;-~]*):(.*)$")
_SOURCE = re.compile(r"^(\S+)(?:\s*\((\S+)\))?$")


def _dpkg_stanzas(path: str, data: bytes | str, problems: list[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """deb822 stanzas with the line each starts on; malformed lines become problems."""
    fields: dict[str, str] = {}
    start = 0
    current: str | None = None
    broken = False
    for number, line in enumerate(_lines(data), start=1):
        if not line.strip():
            if fields and not broken:
                yield start, fields
            fields, current, broken = {}, None, False
            continue
        if broken:
            continue
        if line[0] in " \t":
            if current is None:
                problems.append(f"{path}:{number}: continuation line outside a field: {line.strip()[:60]!r}")
                broken = True
            else:
                fields[current] += "\n" + line.strip()
            continue
        match = _FIELD.match(line)
        if match is None:
            problems.append(f"{path}:{number}: expected 'Field: value', got {line.strip()[:60]!r}")
            broken = True
            continue
        name = match.group(1)
        if not fields:
            start = number
        if name in fields:
            problems.append(f"{path}:{number}: field {name!r} repeated in one entry")
            broken = True
            continue
        fields[name] = match.group(2).strip()
        current = name
    if fields and not broken:
        yield start, fields


def _dpkg_package(path: str, line: int, fields: Mapping[str, str], problems: list[str]) -> InstalledPackage | None:
    where = f"{path}:{line}"
    name = fields.get("Package", "")
    if not name:
        problems.append(f"{where}: entry has no Package name")
        return None
    status = fields.get("Status")
    if status is not None:
        words = status.split()
        if len(words) != 3:
            problems.append(f"{where}: package {name}: malformed Status {status!r}")
            return None
        if words[2] in _NOT_ON_DISK:
            return None
    version = fields.get("Version", "")
    if not version:
        problems.append(f"{where}: package {name} has no Version")
        return None
    if not is_valid_version(VersionScheme.DPKG, version):
        problems.append(f"{where}: package {name}: invalid dpkg version {version!r}")
        return None
    source_name, source_version = name, version
    if source := fields.get("Source"):
        match = _SOURCE.match(source)
        if match is None:
            problems.append(f"{where}: package {name}: malformed Source {source!r}")
            return None
        source_name = match.group(1)
        if match.group(2):
            source_version = match.group(2)
            if not is_valid_version(VersionScheme.DPKG, source_version):
                problems.append(f"{where}: package {name}: invalid source version {source_version!r}")
                return None
    return InstalledPackage(
        name=name,
        version=version,
        source_name=source_name,
        source_version=source_version,
        manager=PackageManager.DPKG,
        arch=fields.get("Architecture") or None,
        location=where,
    )


def _parse_dpkg(path: str, data: bytes | str, problems: list[str]) -> list[InstalledPackage]:
    packages = []
    for line, fields in _dpkg_stanzas(path, data, problems):
        package = _dpkg_package(path, line, fields, problems)
        if package is not None:
            packages.append(package)
    return packages


def parse_dpkg_status(data: bytes | str, path: str = DPKG_STATUS, *, strict: bool = True) -> PackageDB:
    """Packages present on disk per a dpkg status file (or one distroless `status.d` file)."""
    problems: list[str] = []
    packages = _parse_dpkg(path, data, problems)
    _raise_if_strict(path, problems, strict)
    return PackageDB(PackageManager.DPKG, tuple(packages), tuple(problems), (path,))


def is_status_d_entry(path: str) -> bool:
    """True for a distroless per-package status file (not its md5sums or scripts)."""
    directory, name = posixpath.split(path.lstrip("/"))
    return directory == DPKG_STATUS_DIR and bool(name) and not name.endswith(_STATUS_D_SKIP)


def parse_dpkg_status_dir(files: Mapping[str, bytes | str], *, strict: bool = True) -> PackageDB:
    """Packages from distroless `var/lib/dpkg/status.d/*` (path -> content; other paths ignored)."""
    problems: list[str] = []
    packages: list[InstalledPackage] = []
    used: list[str] = []
    for path in sorted(files):
        if not is_status_d_entry(path):
            continue
        used.append(path)
        packages.extend(_parse_dpkg(path, files[path], problems))
    _raise_if_strict(DPKG_STATUS_DIR, problems, strict)
    return PackageDB(PackageManager.DPKG, tuple(packages), tuple(problems), tuple(used))


_APK_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_APK_SINGLE = frozenset("PVoA")


def parse_apk_installed(data: bytes | str, path: str = APK_INSTALLED, *, strict: bool = True) -> PackageDB:
    """Packages from apk's `lib/apk/db/installed` (blank-line separated `K:value` records)."""
    problems: list[str] = []
    packages: list[InstalledPackage] = []
    fields: dict[str, str] = {}
    start = 0
    broken = False

    def finish() -> None:
        where = f"{path}:{start}"
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name:
            problems.append(f"{where}: entry has no package name (P:)")
        elif not version:
            problems.append(f"{where}: package {name} has no version (V:)")
        elif any(c.isspace() for c in version):
            problems.append(f"{where}: package {name}: invalid apk version {version!r}")
        else:
            packages.append(
                InstalledPackage(
                    name=name,
                    version=version,
                    source_name=fields.get("o") or name,
                    source_version=version,
                    manager=PackageManager.APK,
                    arch=fields.get("A") or None,
                    location=where,
                    build_time=_apk_build_time(fields.get("t")),
                )
            )

    for number, line in enumerate(_lines(data), start=1):
        if not line.strip():
            if fields and not broken:
                finish()
            fields, broken = {}, False
            continue
        if broken:
            continue
        match = _APK_LINE.match(line)
        if match is None:
            problems.append(f"{path}:{number}: expected 'K:value', got {line.strip()[:60]!r}")
            broken = True
            continue
        key, value = match.group(1), match.group(2)
        if not fields:
            start = number
        if key in _APK_SINGLE and key in fields:
            problems.append(f"{path}:{number}: key {key!r} repeated in one entry")
            broken = True
            continue
        if key in _APK_SINGLE:
            fields[key] = value.strip()
        else:
            fields.setdefault(key, value)
    if fields and not broken:
        finish()
    _raise_if_strict(path, problems, strict)
    return PackageDB(PackageManager.APK, tuple(packages), tuple(problems), (path,))


def _apk_build_time(value: str | None) -> int | None:
    """apk's `t:` (build time, decimal seconds); a malformed one is no date rather than a broken entry."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 12 else None


def rpm_package_db(files: Mapping[str, bytes | str]) -> PackageDB | None:
    """The image's rpm packages (gpg-pubkey entries left out), None when it has no rpm database."""
    raw = {path: data.encode() if isinstance(data, str) else data for path, data in files.items()}
    db = read_rpmdb(raw)
    if db is None:
        return None
    packages = []
    for record in db.records:
        header = record.header
        if header.name in PSEUDO_PACKAGES:
            continue
        source = source_package(header.sourcerpm) if header.sourcerpm else None
        if header.sourcerpm and source is None:
            raise PackageDBError(f"{record.location}: package {header.name!r}: malformed SOURCERPM"
                                 f" {header.sourcerpm[:80]!r}")
        epoch = f"{header.epoch}:" if header.epoch is not None else ""
        packages.append(InstalledPackage(
            name=header.name, version=header.evr,
            source_name=source[0] if source else header.name,
            source_version=f"{epoch}{source[1]}" if source else header.evr,
            manager=PackageManager.RPM, arch=header.arch, location=record.location,
            build_time=header.build_time, module=header.modularity_label,
        ))
    return PackageDB(PackageManager.RPM, tuple(packages), (), (db.path,))


def is_package_db_path(path: str) -> bool:
    """True for every file `read_package_db` uses, so a layer reader fetches only those."""
    clean = path.lstrip("/")
    return clean in (DPKG_STATUS, APK_INSTALLED) or is_status_d_entry(clean) or is_rpmdb_path(clean)


def read_package_db(files: Mapping[str, bytes | str], *, strict: bool = True) -> PackageDB | None:
    """The image's package database from its files (path -> content), None when it has none.

    dpkg's status file and distroless `status.d` are merged (an image may carry both); an image
    whose packages are listed by more than one package manager is refused as ambiguous.
    """
    clean = {path.lstrip("/"): data for path, data in files.items()}
    rpm = rpm_package_db({p: d for p, d in clean.items() if is_rpmdb_path(p)})
    others = _dpkg_or_apk({p: d for p, d in clean.items() if not is_rpmdb_path(p)}, strict)
    if rpm is None:
        return others
    if others is not None and others.packages and rpm.packages:
        raise PackageDBError(f"both {rpm.files[0]} and {others.files[0]} list packages; cannot tell the OS")
    return rpm if rpm.packages or others is None else others


def _dpkg_or_apk(clean: Mapping[str, bytes | str], strict: bool) -> PackageDB | None:
    dpkg: PackageDB | None = None
    has_status_d = any(is_status_d_entry(p) for p in clean)
    if DPKG_STATUS in clean or has_status_d:
        problems: list[str] = []
        packages: list[InstalledPackage] = []
        used: list[str] = []
        if DPKG_STATUS in clean:
            single = parse_dpkg_status(clean[DPKG_STATUS], strict=False)
            packages.extend(single.packages)
            problems.extend(single.problems)
            used.append(DPKG_STATUS)
        if has_status_d:
            split = parse_dpkg_status_dir(clean, strict=False)
            packages.extend(split.packages)
            problems.extend(split.problems)
            used.extend(split.files)
        _raise_if_strict(DPKG_STATUS, problems, strict)
        dpkg = PackageDB(PackageManager.DPKG, tuple(packages), tuple(problems), tuple(used))
    apk = parse_apk_installed(clean[APK_INSTALLED], strict=strict) if APK_INSTALLED in clean else None
    if dpkg is not None and apk is not None and dpkg.packages and apk.packages:
        raise PackageDBError(f"both {DPKG_STATUS} and {APK_INSTALLED} list packages; cannot tell the OS")
    return dpkg if dpkg is not None and (dpkg.packages or apk is None) else apk
