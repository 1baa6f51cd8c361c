"""Match installed OS packages against an OSV advisory database on disk.

OSV publishes each distribution as a zip of JSON records per ecosystem (`Debian:12`,
`Alpine:v3.19`, `Ubuntu:22.04:LTS`); a directory of records works the same. Records are indexed
by (ecosystem, package), where the package is the *source* package for Debian/Ubuntu and the
origin for Alpine, and evaluated as the OSV spec says: an explicit `versions` list, or ECOSYSTEM
ranges walked in version order (`introduced`, `fixed`, `last_affected`) with the distribution's
own ordering. A version the ordering cannot parse is reported as undecided, never as safe.
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.distro.os_release import OSRelease
from gates.distro.pkgdb import InstalledPackage
from gates.distro.versions import (
    UnsupportedVersion,
    VersionScheme,
    compare_versions,
    scheme_for_ecosystem,
)
from gates.errors import InputError
from gates.model import Severity

MAX_RECORD_BYTES = 32 * 1024 * 1024
"""No real OSV record comes near this; a larger zip member is refused (zip bombs)."""


class AdvisoryDBError(InputError):
    """The advisory database cannot be read; the message names the file or zip member."""


@dataclass(frozen=True)
class Event:
    """One OSV range event: exactly one of the fields is set."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None


@dataclass(frozen=True)
class AffectedEntry:
    """One `affected[]` item of a record, for one (ecosystem, package)."""

    ecosystem: str
    package: str
    ranges: tuple[tuple[Event, ...], ...]
    """ECOSYSTEM ranges only: other types (GIT, SEMVER) cannot be evaluated for OS packages."""
    versions: frozenset[str]
    severity: Severity | None = None
    severity_source: str | None = None
    module: str | None = None
    """The rpm module stream (`nodejs:18`) the entry is for, from its purl's `rpmmod` qualifier."""


@dataclass(frozen=True)
class Advisory:
    """An OSV record, reduced to what matching and reporting need."""

    id: str
    aliases: tuple[str, ...]
    summary: str | None
    severity: Severity | None
    severity_source: str | None
    """Where the severity came from (`CVSS:3.1/...`, `Ubuntu: medium`), for the report."""
    affected: tuple[AffectedEntry, ...]
    origin: str = ""
    """The file or zip member the record was read from."""


@dataclass(frozen=True)
class AdvisoryMatch:
    """An installed package that an advisory says is affected."""

    advisory_id: str
    aliases: tuple[str, ...]
    ecosystem: str
    package: str
    """The binary package installed (`libssl1.1`)."""
    source_package: str
    """The package the advisory names (`openssl`)."""
    installed_version: str
    fixed_version: str | None
    """The version that fixes it; None = no fix published (unfixed)."""
    severity: Severity | None
    severity_source: str | None
    summary: str | None
    location: str = ""
    """`FILE:LINE` of the package's database entry."""


@dataclass(frozen=True)
class MatchReport:
    """Matches for a set of packages, and what could not be decided."""

    matches: tuple[AdvisoryMatch, ...]
    undecided: tuple[str, ...] = ()
    """One line per (advisory, package) whose versions the ordering could not compare."""
    suppressed: int = 0
    """Matches dropped by `ignore_unfixed` or `min_severity`."""


# --- severity ---------------------------------------------------------------------------------

_WORDS: Mapping[str, Severity] = {
    "negligible": Severity.INFO,
    "unimportant": Severity.INFO,
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "important": Severity.HIGH,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def severity_from_word(word: str) -> Severity | None:
    """Qualitative ratings used by Ubuntu priorities, Debian urgencies, GHSA and Red Hat."""
    return _WORDS.get(word.strip().lower().rstrip("*"))


def severity_from_score(score: float) -> Severity:
    """CVSS qualitative rating scale (v3.x section 5)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


_CVSS3_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_CVSS3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _roundup(value: float) -> float:
    """CVSS v3.1 Roundup: the smallest one-decimal number >= value, robust to float error."""
    integer = round(value * 100000)
    if integer % 10000 == 0:
        return integer / 100000.0
    return (math.floor(integer / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """Base score of a CVSS v3.0/v3.1 vector (the specification's formula); None if malformed."""
    parts = vector.strip().split("/")
    if not parts or not parts[0].startswith("CVSS:3"):
        return None
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition(":")
        metrics[key] = value
    try:
        scope = metrics["S"]
        av, ac = _CVSS3_WEIGHTS["AV"][metrics["AV"]], _CVSS3_WEIGHTS["AC"][metrics["AC"]]
        pr, ui = _CVSS3_PR[scope][metrics["PR"]], _CVSS3_WEIGHTS["UI"][metrics["UI"]]
        c, i, a = (_CVSS3_WEIGHTS[k][metrics[k]] for k in ("C", "I", "A"))
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    if impact <= 0:
        return 0.0
    exploitability = 8.22 * av * ac * pr * ui
    if scope == "U":
        return _roundup(min(impact + exploitability, 10))
    return _roundup(min(1.08 * (impact + exploitability), 10))


def _severity_of(entries: object) -> tuple[Severity | None, str | None]:
    """The highest severity among OSV `severity[]` entries that we can rate."""
    best: tuple[Severity | None, str | None] = (None, None)
    if not isinstance(entries, list):
        return best
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kind, score = str(entry.get("type", "")), str(entry.get("score", ""))
        rated: Severity | None = None
        if kind.startswith("CVSS_V3"):
            base = cvss3_base_score(score)
            rated = severity_from_score(base) if base is not None else None
        elif kind in ("Ubuntu", "Debian", "Alpine"):
            rated = severity_from_word(score)
        if rated is not None and (best[0] is None or rated > best[0]):
            best = (rated, score if kind.startswith("CVSS") else f"{kind}: {score}")
    return best


def _entry_severity(item: Mapping[str, Any]) -> tuple[Severity | None, str | None]:
    own = _severity_of(item.get("severity"))
    if own[0] is not None:
        return own
    for block in ("ecosystem_specific", "database_specific"):
        data = item.get(block)
        if not isinstance(data, dict):
            continue
        for key in ("severity", "ubuntu_priority", "urgency"):
            word = data.get(key)
            if isinstance(word, str) and (rated := severity_from_word(word)) is not None:
                return rated, f"{key}: {word}"
    return None, None


# --- parsing ----------------------------------------------------------------------------------


def parse_record(data: bytes | str | Mapping[str, Any], origin: str = "") -> Advisory:
    """An `Advisory` from one OSV JSON record; `AdvisoryDBError` names `origin` when malformed."""
    if isinstance(data, (bytes, str)):
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise AdvisoryDBError(f"{origin}: not JSON ({exc})") from exc
    else:
        raw = data
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise AdvisoryDBError(f"{origin}: not an OSV record (no string 'id')")
    advisory_id = raw["id"]
    affected_raw = raw.get("affected") or []
    if not isinstance(affected_raw, list):
        raise AdvisoryDBError(f"{origin}: {advisory_id}: 'affected' is not a list")
    severity, severity_source = _severity_of(raw.get("severity"))
    affected: list[AffectedEntry] = []
    for item in affected_raw:
        if not isinstance(item, dict):
            raise AdvisoryDBError(f"{origin}: {advisory_id}: an 'affected' entry is not an object")
        package = item.get("package") or {}
        if not isinstance(package, dict):
            raise AdvisoryDBError(f"{origin}: {advisory_id}: an affected 'package' is not an object")
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(ecosystem, str) or not isinstance(name, str):
            continue  # GIT-only entries name no package
        ranges: list[tuple[Event, ...]] = []
        for rng in item.get("ranges") or []:
            if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
                continue
            events = []
            for event in rng.get("events") or []:
                if not isinstance(event, dict):
                    raise AdvisoryDBError(f"{origin}: {advisory_id}: a range event is not an object")
                events.append(
                    Event(
                        introduced=_text(event.get("introduced")),
                        fixed=_text(event.get("fixed")),
                        last_affected=_text(event.get("last_affected")),
                    )
                )
            ranges.append(tuple(events))
        versions = frozenset(v for v in (item.get("versions") or []) if isinstance(v, str))
        entry_severity, entry_source = _entry_severity(item)
        purl = package.get("purl")
        affected.append(
            AffectedEntry(
                ecosystem=ecosystem,
                package=name,
                ranges=tuple(ranges),
                versions=versions,
                severity=entry_severity,
                severity_source=entry_source,
                module=_rpm_module(purl) if isinstance(purl, str) else None,
            )
        )
    aliases = tuple(a for a in (raw.get("aliases") or []) + (raw.get("upstream") or []) if isinstance(a, str))
    summary = raw.get("summary")
    return Advisory(
        id=advisory_id,
        aliases=tuple(dict.fromkeys(aliases)),
        summary=summary if isinstance(summary, str) else None,
        severity=severity,
        severity_source=severity_source,
        affected=tuple(affected),
        origin=origin,
    )


def _rpm_module(purl: str) -> str | None:
    """`name:stream` of a purl's `rpmmod` qualifier (`...?rpmmod=nodejs:18:9030020231120082734:rhel9`)."""
    from urllib.parse import parse_qs, urlsplit

    value = parse_qs(urlsplit(purl).query).get("rpmmod", [""])[0]
    parts = value.split(":")
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[0] and parts[1] else None


def module_stream(label: str | None) -> str | None:
    """`name:stream` of an rpm MODULARITYLABEL (`nodejs:10:8020020200707141642:6a468ee4`)."""
    parts = (label or "").split(":")
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[0] and parts[1] else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _records_in_zip(path: Path) -> Iterator[Advisory]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise AdvisoryDBError(f"{path}: not a readable zip ({exc})") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            origin = f"{path}!{info.filename}"
            if info.file_size > MAX_RECORD_BYTES:
                raise AdvisoryDBError(f"{origin}: {info.file_size} bytes, over the {MAX_RECORD_BYTES} limit")
            with archive.open(info) as member:
                data = member.read(MAX_RECORD_BYTES + 1)
            if len(data) > MAX_RECORD_BYTES:
                raise AdvisoryDBError(f"{origin}: inflates past the {MAX_RECORD_BYTES} byte limit")
            yield parse_record(data, origin)


def iter_records(path: Path) -> Iterator[Advisory]:
    """Every record under `path`: a zip, a directory (searched recursively, zips included), or a file."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix in (".json", ".zip"):
                yield from iter_records(child)
        return
    if not path.is_file():
        raise AdvisoryDBError(f"{path}: no such advisory database")
    if path.suffix == ".zip":
        yield from _records_in_zip(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryDBError(f"{path}: cannot read ({exc.strerror})") from exc
    yield parse_record(data, str(path))


# --- matching ---------------------------------------------------------------------------------


def _normalize_ecosystem(ecosystem: str) -> str:
    return ecosystem.strip().lower()


def ecosystems_for_release(release: OSRelease) -> tuple[str, ...]:
    """The OSV ecosystems whose advisories apply to a release, most specific first.

    For Red Hat and SUSE, whose ecosystems name a product and repository (`Red Hat:enterprise_linux:9::
    appstream`, `SUSE:Linux Enterprise Server 15 SP5`), this is the family's name; `covered_ecosystems`
    finds the index's ecosystems of that family.
    """
    rid, version = (release.id or "").lower(), release.version_id or ""
    if rid in _VERSIONLESS_ECOSYSTEMS:
        return (_VERSIONLESS_ECOSYSTEMS[rid],)
    if not version:
        return ()
    major = version.split(".")[0]
    if rid == "debian":
        return (f"Debian:{major}",)
    if rid == "alpine":
        parts = version.split(".")
        return (f"Alpine:v{'.'.join(parts[:2])}",) if len(parts) >= 2 else ()
    if rid == "ubuntu":
        lts = "LTS" in (release.version or "") or "LTS" in (release.pretty_name or "")
        return (f"Ubuntu:{version}:LTS",) if lts else (f"Ubuntu:{version}",)
    if rid in _MAJOR_ECOSYSTEMS:
        releases = (major, version) if rid in ("azurelinux", "mariner") and version != major else (major,)
        return tuple(f"{name}:{number}" for name in _MAJOR_ECOSYSTEMS[rid] for number in releases)
    if rid == "sles":
        return (f"SUSE:Linux Enterprise {_suse_release(version)}",)
    if rid in ("opensuse-leap", "opensuse"):
        return (f"openSUSE:Leap {version}",)
    return ()


_VERSIONLESS_ECOSYSTEMS = {"wolfi": "Wolfi", "chainguard": "Chainguard", "opensuse-tumbleweed": "openSUSE:Tumbleweed"}
"""Rolling distributions OSV publishes as one ecosystem without a release."""
_MAJOR_ECOSYSTEMS: dict[str, tuple[str, ...]] = {
    "rhel": ("Red Hat:enterprise_linux",),
    "almalinux": ("AlmaLinux",),
    "rocky": ("Rocky Linux",),
    "amzn": ("Amazon Linux",),
    "azurelinux": ("Azure Linux",),
    "mariner": ("Mariner", "Azure Linux"),
}
"""os-release ID -> ecosystem names keyed by the major release (`AlmaLinux:9`, `Azure Linux:3`)."""

_BY_SOURCE_PACKAGE = frozenset({"debian", "ubuntu", "alpine", "wolfi", "chainguard", "azure linux", "mariner"})
"""Ecosystems whose records name source packages (Debian, Ubuntu), apk origins (Alpine, Wolfi,
Chainguard) or rpm spec names (Azure Linux, from its OVAL data). Red Hat, AlmaLinux, Rocky Linux,
SUSE, openSUSE and Amazon Linux name the binary rpm (`libuuid`, not `util-linux`)."""


def _suse_release(version: str) -> str:
    """`15.3` -> `15 SP3`, `15` or `15.0` -> `15`: how SUSE's ecosystems name a service pack."""
    major, _, pack = version.partition(".")
    return f"{major} SP{pack}" if pack and pack != "0" else major


def matches_by_source(ecosystem: str) -> bool:
    """Whether an ecosystem's records name source packages (else binary ones)."""
    return ecosystem.split(":", 1)[0].strip().lower() in _BY_SOURCE_PACKAGE


def covered_ecosystems(wanted: Sequence[str], available: Iterable[str]) -> tuple[str, ...]:
    """The ecosystems of `available` (as spelled there) that the `wanted` names of `ecosystems_for_release` cover.

    Most names match exactly (case aside); `Red Hat:enterprise_linux:9` also covers its repositories
    (`...:9::appstream`, `...:9::baseos`), and `SUSE:Linux Enterprise 15 SP3` every SUSE product of that
    service pack (`Server`, `Micro`, `Module for Basesystem`, ...).
    """
    names = {e.lower(): e for e in available}
    found: list[str] = []
    for want in (w.lower() for w in wanted):
        if want.startswith("red hat:"):
            keys = [e for e in names if e == want or e.startswith(want + "::")]
        elif want.startswith("suse:linux enterprise "):
            release = want.removeprefix("suse:linux enterprise ")
            keys = [e for e in names if e.startswith("suse:linux enterprise ")
                    and (e.endswith(" " + release) or e.endswith(" " + release + "-ltss"))]
        else:
            keys = [want] if want in names else []
        found += [names[e] for e in sorted(keys)]
    return tuple(dict.fromkeys(found))


@dataclass
class AdvisoryIndex:
    """Advisories by (ecosystem, package), as OSV keys them."""

    _entries: dict[tuple[str, str], list[tuple[Advisory, AffectedEntry]]] = field(default_factory=dict)
    count: int = 0
    _spellings: dict[str, str] = field(default_factory=dict)
    """Lower-cased ecosystem -> as the first record spelled it, for reports."""

    @classmethod
    def from_records(cls, records: Iterable[Advisory]) -> AdvisoryIndex:
        index = cls()
        for record in records:
            index.add(record)
        return index

    @classmethod
    def load(cls, path: Path) -> AdvisoryIndex:
        """Index every record in a directory or zip (see `iter_records`)."""
        return cls.from_records(iter_records(path))

    def add(self, advisory: Advisory) -> None:
        self.count += 1
        for entry in advisory.affected:
            key = (_normalize_ecosystem(entry.ecosystem), entry.package)
            self._entries.setdefault(key, []).append((advisory, entry))
            self._spellings.setdefault(key[0], entry.ecosystem.strip())

    def ecosystems(self) -> frozenset[str]:
        """The (lower-cased) ecosystems that have at least one advisory."""
        return frozenset(e for e, _ in self._entries)

    def ecosystem_names(self) -> frozenset[str]:
        """The ecosystems that have at least one advisory, as the records spell them."""
        return frozenset(self._spellings.values())

    def lookup(self, ecosystem: str, package: str) -> Sequence[tuple[Advisory, AffectedEntry]]:
        return self._entries.get((_normalize_ecosystem(ecosystem), package), ())

    def match(
        self,
        ecosystem: str,
        packages: Iterable[InstalledPackage],
        *,
        ignore_unfixed: bool = False,
        min_severity: Severity | None = None,
        keep_unrated: bool = True,
    ) -> MatchReport:
        """Affected packages of one ecosystem.

        `ignore_unfixed` drops advisories with no published fix; `min_severity` drops rated ones
        below it, and unrated ones too unless `keep_unrated` (unknown is not low).
        """
        scheme = scheme_for_ecosystem(ecosystem)
        if scheme is None:
            raise AdvisoryDBError(f"no version ordering for ecosystem {ecosystem!r}")
        by_source = matches_by_source(ecosystem)
        matches: list[AdvisoryMatch] = []
        undecided: list[str] = []
        suppressed = 0
        seen: set[tuple[str, str, str]] = set()
        for package in packages:
            named, version = ((package.source_name, package.source_version) if by_source
                              else (package.name, package.version))
            for advisory, entry in self.lookup(ecosystem, named):
                key = (advisory.id, package.name, package.version)
                if key in seen:  # an advisory may list a package in several entries: one match is enough
                    continue
                if entry.module is not None and entry.module != module_stream(package.module):
                    continue  # a fix built for another module stream (or for the module, not the plain rpm)
                try:
                    affected, fixed = affected_by(scheme, version, entry)
                except UnsupportedVersion as exc:
                    undecided.append(f"{advisory.id} {package.name} {package.version}: {exc}")
                    continue
                if not affected:  # only an entry that applies settles the pair: a later one may still apply
                    continue
                seen.add(key)
                severity = entry.severity or advisory.severity
                source = entry.severity_source if entry.severity else advisory.severity_source
                if ignore_unfixed and fixed is None:
                    suppressed += 1
                    continue
                if min_severity is not None and not _severe_enough(severity, min_severity, keep_unrated):
                    suppressed += 1
                    continue
                matches.append(
                    AdvisoryMatch(
                        advisory_id=advisory.id,
                        aliases=advisory.aliases,
                        ecosystem=entry.ecosystem,
                        package=package.name,
                        source_package=named,
                        installed_version=package.version,
                        fixed_version=fixed,
                        severity=severity,
                        severity_source=source,
                        summary=advisory.summary,
                        location=package.location,
                    )
                )
        return MatchReport(tuple(matches), tuple(undecided), suppressed)


def _severe_enough(severity: Severity | None, minimum: Severity, keep_unrated: bool) -> bool:
    if severity is None:
        return keep_unrated
    return severity >= minimum


def _sort_key(scheme: VersionScheme) -> Any:

    def cmp(a: tuple[str, Event], b: tuple[str, Event]) -> int:
        if a[0] == b[0]:
            return 0
        if a[0] == "0":
            return -1
        if b[0] == "0":
            return 1
        return compare_versions(scheme, a[0], b[0])

    return functools.cmp_to_key(cmp)


def affected_by(scheme: VersionScheme, version: str, entry: AffectedEntry) -> tuple[bool, str | None]:
    """Whether `version` is affected per `entry`, and the fix that applies (None if unfixed).

    Raises `UnsupportedVersion` when a version in the decision cannot be ordered.
    """
    for events in entry.ranges:
        keyed = []
        for event in events:
            point = event.introduced or event.fixed or event.last_affected
            if point is not None:
                keyed.append((point, event))
        keyed.sort(key=_sort_key(scheme))
        affected = False
        fix: str | None = None
        for point, event in keyed:
            if event.introduced is not None:
                if point == "0" or compare_versions(scheme, version, point) >= 0:
                    affected, fix = True, None
            elif event.fixed is not None:
                if compare_versions(scheme, version, point) >= 0:
                    affected = False
                elif affected and fix is None:
                    fix = point
            elif event.last_affected is not None and compare_versions(scheme, version, point) > 0:
                affected = False
        if affected:
            return True, fix
    if version in entry.versions:
        return True, _first_fix(scheme, version, entry)
    return False, None


def _first_fix(scheme: VersionScheme, version: str, entry: AffectedEntry) -> str | None:
    """The lowest `fixed` above `version` in any range, for a version matched by the list."""
    fixes = [
        e.fixed
        for events in entry.ranges
        for e in events
        if e.fixed is not None and compare_versions(scheme, e.fixed, version) > 0
    ]
    if not fixes:
        return None
    best = fixes[0]
    for candidate in fixes[1:]:
        if compare_versions(scheme, candidate, best) < 0:
            best = candidate
    return best
