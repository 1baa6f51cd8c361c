"""End-of-life answers for (distribution, version) from the shipped dated data file.

An image on a release its distribution no longer patches gets no fixes whatever else we check, so
the gate asks: which cycle is this, when does its support end, and is it behind its cycle's newest
point release? The data (`gates/data/distro-eol.json`, built by `scripts/build_eol_data.py` from
endoflife.date) is loaded once; a distribution or cycle it does not list is `unknown`, never
`supported`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from gates.distro.os_release import OSRelease
from gates.errors import InputError

DATA_FILE = "distro-eol.json"

PRODUCT_FOR_OS_ID: Mapping[str, str] = {
    "almalinux": "almalinux",
    "alpine": "alpine-linux",
    "amzn": "amazon-linux",
    "centos": "centos",
    "centos-stream": "centos-stream",
    "debian": "debian",
    "devuan": "devuan",
    "fedora": "fedora",
    "ol": "oracle-linux",
    "opensuse": "opensuse",
    "opensuse-leap": "opensuse",
    "photon": "vmware-photon",
    "rhel": "rhel",
    "rocky": "rocky-linux",
    "sles": "sles",
    "ubuntu": "ubuntu",
}
"""os-release ID -> endoflife.date product. Derivatives (ID_LIKE) are deliberately not followed:
Linux Mint is not Ubuntu's support calendar."""


class SupportPhase(str, Enum):
    """Which support phase must still run for a release to count as supported."""

    ACTIVE = "active"
    """Regular (active) support: endoflife.date `eoas`, else `eol`."""
    SECURITY = "security"
    """Security support from the distribution: endoflife.date `eol` (the default)."""
    EXTENDED = "extended"
    """LTS / ESM / extended support where it exists (`eoes`), else `eol`."""


class EolStatus(str, Enum):
    SUPPORTED = "supported"
    END_OF_LIFE = "end-of-life"
    UNKNOWN = "unknown"


class EolDataError(InputError):
    """The end-of-life data file is missing or malformed."""


@dataclass(frozen=True)
class Cycle:
    """One release cycle of a distribution (`12`, `3.19`, `22.04`)."""

    product: str
    cycle: str
    codename: str | None
    release_date: dt.date | None
    end_of_active_support: dt.date | bool | None
    """A date; False = no date announced (still supported); True = ended, date unknown."""
    end_of_security_support: dt.date | bool | None
    end_of_extended_support: dt.date | bool | None
    latest: str | None
    """Newest point release of the cycle (`12.15`), as the data lists it."""
    latest_release_date: dt.date | None

    def end_of(self, phase: SupportPhase) -> dt.date | bool | None:
        """When `phase` ends for this cycle, falling back to security support where absent."""
        if phase is SupportPhase.ACTIVE and self.end_of_active_support is not None:
            return self.end_of_active_support
        if phase is SupportPhase.EXTENDED and self.end_of_extended_support not in (None, False):
            return self.end_of_extended_support
        return self.end_of_security_support


@dataclass(frozen=True)
class EolAnswer:
    """The verdict for one (distribution, version)."""

    status: EolStatus
    distro: str | None
    version: str | None
    phase: SupportPhase
    cycle: Cycle | None = None
    ends: dt.date | None = None
    """When the counted phase ends (or ended); None when no date is known."""
    reason: str = ""
    """One line for the report."""


@dataclass(frozen=True)
class PointReleaseLag:
    """How far a release's point version trails its cycle's newest."""

    installed: str
    latest: str
    behind: int
    """Point releases between them (0 = current); counted on the first component after the cycle."""


@dataclass(frozen=True)
class EolDatabase:
    """The loaded data file: products and their cycles, plus when and where it came from."""

    generated: dt.date | None
    source: Mapping[str, Any]
    products: Mapping[str, tuple[Cycle, ...]]

    def product_for(self, distro: str) -> str | None:
        """The product key for an os-release ID, or for a product key itself."""
        key = distro.strip().lower()
        if key in self.products:
            return key
        return PRODUCT_FOR_OS_ID.get(key)

    def find_cycle(self, distro: str, version: str) -> Cycle | None:
        """The cycle a version belongs to: the longest dotted prefix that names a cycle."""
        product = self.product_for(distro)
        if product is None:
            return None
        cycles = {c.cycle: c for c in self.products.get(product, ())}
        parts = version.strip().split(".")
        for n in range(len(parts), 0, -1):
            found = cycles.get(".".join(parts[:n]))
            if found is not None:
                return found
        return None

    def status(
        self,
        distro: str | None,
        version: str | None,
        today: dt.date,
        phase: SupportPhase = SupportPhase.SECURITY,
    ) -> EolAnswer:
        """Whether (distro, version) is still in `phase` on `today`; unknown when the data can't say."""
        if not distro or not version:
            return EolAnswer(EolStatus.UNKNOWN, distro, version, phase, reason="OS or version not detected")
        if self.product_for(distro) is None:
            return EolAnswer(EolStatus.UNKNOWN, distro, version, phase, reason=f"no end-of-life data for {distro!r}")
        cycle = self.find_cycle(distro, version)
        if cycle is None:
            return EolAnswer(
                EolStatus.UNKNOWN,
                distro,
                version,
                phase,
                reason=f"{distro} {version} is not a release cycle in the end-of-life data",
            )
        end = cycle.end_of(phase)
        if end is True:
            return EolAnswer(EolStatus.END_OF_LIFE, distro, version, phase, cycle, None, f"{phase.value} support ended")
        if end is False:
            return EolAnswer(EolStatus.SUPPORTED, distro, version, phase, cycle, None, "no end date announced")
        if end is None:
            return EolAnswer(EolStatus.UNKNOWN, distro, version, phase, cycle, None, "the data has no end date")
        if today >= end:
            return EolAnswer(
                EolStatus.END_OF_LIFE,
                distro,
                version,
                phase,
                cycle,
                end,
                f"{phase.value} support for {distro} {cycle.cycle} ended on {end.isoformat()}",
            )
        return EolAnswer(
            EolStatus.SUPPORTED,
            distro,
            version,
            phase,
            cycle,
            end,
            f"{phase.value} support for {distro} {cycle.cycle} runs until {end.isoformat()}",
        )

    def release_status(
        self, release: OSRelease | None, today: dt.date, phase: SupportPhase = SupportPhase.SECURITY
    ) -> EolAnswer:
        """`status` for a detected release (CentOS Stream is told apart by its NAME)."""
        if release is None:
            return EolAnswer(EolStatus.UNKNOWN, None, None, phase, reason="OS not detected")
        distro = release.id
        if release.family == "centos-stream":
            distro = "centos-stream"
        return self.status(distro, release.version_id, today, phase)

    def point_release_lag(self, distro: str, version: str) -> PointReleaseLag | None:
        """How many point releases `version` trails its cycle's `latest`; None when not comparable."""
        cycle = self.find_cycle(distro, version)
        if cycle is None or not cycle.latest:
            return None
        mine, latest = _numbers(version), _numbers(cycle.latest)
        depth = len(cycle.cycle.split("."))
        if mine is None or latest is None or len(latest) <= depth:
            return None
        if tuple(latest[:depth]) != tuple(_numbers(cycle.cycle) or ()):
            return None
        own = mine[depth] if len(mine) > depth else 0
        return PointReleaseLag(installed=version, latest=cycle.latest, behind=max(0, latest[depth] - own))


_VERSION_NUMBERS = re.compile(r"^\d+(?:\.\d+)*$")


def _numbers(version: str) -> list[int] | None:
    text = version.strip()
    if not _VERSION_NUMBERS.match(text):
        return None
    return [int(p) for p in text.split(".")]


def point_version(release: OSRelease) -> str | None:
    """The most precise version of a release: Ubuntu keeps its point release in VERSION only."""
    if release.id == "ubuntu" and release.version:
        match = re.match(r"^(\d+\.\d+(?:\.\d+)?)", release.version)
        if match:
            return match.group(1)
    return release.version_id


def _date(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise EolDataError(f"{where}: {value!r} is not an ISO date") from exc
    raise EolDataError(f"{where}: expected a date, got {value!r}")


def _date_or_flag(value: object, where: str) -> dt.date | bool | None:
    if isinstance(value, bool):
        return value
    return _date(value, where)


def parse_eol_data(data: bytes | str, origin: str = DATA_FILE) -> EolDatabase:
    """Validate and load the JSON written by `scripts/build_eol_data.py`."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise EolDataError(f"{origin}: not JSON ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), dict):
        raise EolDataError(f"{origin}: missing 'products'")
    products: dict[str, tuple[Cycle, ...]] = {}
    for name, product in raw["products"].items():
        cycles = product.get("cycles") if isinstance(product, dict) else None
        if not isinstance(cycles, list):
            raise EolDataError(f"{origin}: product {name!r} has no 'cycles' list")
        parsed: list[Cycle] = []
        for entry in cycles:
            if not isinstance(entry, dict) or not isinstance(entry.get("cycle"), str):
                raise EolDataError(f"{origin}: product {name!r} has a cycle without a 'cycle' string")
            where = f"{origin}: {name} {entry['cycle']}"
            codename, latest = entry.get("codename"), entry.get("latest")
            parsed.append(
                Cycle(
                    product=name,
                    cycle=entry["cycle"],
                    codename=codename if isinstance(codename, str) else None,
                    release_date=_date(entry.get("release_date"), where),
                    end_of_active_support=_date_or_flag(entry.get("end_of_active_support"), where),
                    end_of_security_support=_date_or_flag(entry.get("end_of_security_support"), where),
                    end_of_extended_support=_date_or_flag(entry.get("end_of_extended_support"), where),
                    latest=latest if isinstance(latest, str) else None,
                    latest_release_date=_date(entry.get("latest_release_date"), where),
                )
            )
        products[name] = tuple(parsed)
    generated = raw.get("generated")
    return EolDatabase(
        generated=_date(generated, f"{origin}: generated") if generated else None,
        source=raw.get("source") or {},
        products=products,
    )


@functools.cache
def load_eol_data(path: Path | None = None) -> EolDatabase:
    """The shipped data file (or `path`, e.g. one refreshed by `gates data update`)."""
    if path is not None:
        try:
            return parse_eol_data(path.read_bytes(), str(path))
        except OSError as exc:
            raise EolDataError(f"{path}: cannot read ({exc.strerror})") from exc
    resource = resources.files("gates").joinpath("data").joinpath(DATA_FILE)
    try:
        return parse_eol_data(resource.read_bytes(), f"gates/data/{DATA_FILE}")
    except OSError as exc:
        raise EolDataError(f"gates/data/{DATA_FILE}: not installed ({exc})") from exc


def user_data_file() -> Path:
    """Where `gates data update` writes a refreshed data file: `$XDG_DATA_HOME/gates/distro-eol.json`."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "gates" / DATA_FILE


def load_preferred(explicit: Path | None = None) -> tuple[EolDatabase, str]:
    """The data to judge with, and a line saying which: `explicit` if given, else the refreshed file of
    `gates data update` when it is at least as new as the shipped one, else the shipped one."""
    if explicit is not None:
        db = load_eol_data(explicit)
        return db, f"end-of-life data {explicit}, generated {db.generated}"
    shipped = load_eol_data()
    refreshed = user_data_file()
    if refreshed.is_file():
        newer = load_eol_data(refreshed)
        if newer.generated is not None and (shipped.generated is None or newer.generated >= shipped.generated):
            return newer, f"end-of-life data {refreshed}, generated {newer.generated}"
    return shipped, f"end-of-life data shipped with gates, generated {shipped.generated}"
