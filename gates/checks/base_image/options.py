"""`[base-image]` and `[patch-level]` (validated by `gates.config`) plus command-line flags -> options.

The tables are declared here, next to the gate that reads them; the registry hands them to the loader,
so this module imports nothing heavy: every configuration load reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.checks.base_image import rules as R
from gates.model import Severity
from gates.validators import ConfigValueError, Schema, boolean, image_globs, integer, severity, str_list, string

UNKNOWN_OUTCOMES = ("finding", "error")
"""What an unknown age or OS becomes: a finding of its rule (waivable), or an `error` result."""
SUPPORT_PHASES = ("active", "security", "extended")
"""Which support phase must still run for the OS to count as supported (see `SupportPhase`)."""

DEFAULT_MAX_LAYER_BYTES = 2 * 1024**3
"""Per layer: compressed bytes fetched and bytes inflated. Larger layers are refused as hostile."""


@dataclass(frozen=True)
class Build:
    """`[[base-image.builds]]`: the Dockerfile that images matching `image` were built from."""

    image: str
    """A glob over the image's name (full or Docker's short form), with or without its tag."""
    dockerfile: Path
    where: str
    """`base-image.builds[N]`, to name this build in messages."""


@dataclass(frozen=True)
class BaseImageOptions:
    """What the base-image gate checks, and how strictly."""

    images: tuple[str, ...]
    """Image references, as given (each becomes one result)."""
    dockerfile: Path | None = None
    """The Dockerfile of every image that no build names: names the base when annotations do not; pinning."""
    builds: tuple[Build, ...] = ()
    """Dockerfiles per image; an image matched by one uses its Dockerfile instead of `dockerfile`."""
    max_age_days: int = 90
    max_base_age_days: int = 90
    unknown_age: str = "finding"
    """A zeroed or epoch `created` (reproducible builds): `finding` or `error`."""
    allowed: tuple[str, ...] = ()
    """Globs over base images (`docker.io/library/debian`, `registry.example.com/*`); empty = any."""
    require_digest: bool = True
    """Pinning: every FROM pinned by digest (`latest` and untagged FROMs always fail)."""
    eol_phase: str = "security"
    unknown_os: str = "finding"
    """An OS the end-of-life data does not know (or none detected): `finding` or `error`."""
    max_point_release_lag: int = 1
    """Point releases the OS may trail the newest of its cycle."""
    max_package_age_days: int = 30
    """A rolling distribution's newest package build (else the image's `created`) may be this old."""
    eol_data: Path | None = None
    """An end-of-life data file (e.g. from `gates data update`); None = the newest installed one."""
    platforms: tuple[str, ...] = ()
    """`os/arch[/variant]` globs of an index to check; empty = every platform it lists."""
    skip_rules: frozenset[str] = frozenset()
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES
    advisories: Path | None = None
    """An OSV database (directory or zip); None (and no `downloaded_osv`) = no patch-level check."""
    downloaded_osv: bool = False
    """Also judge with the OSV zips `gates data update --osv` downloaded (checked against their records)."""
    ignore_unfixed: bool = False
    min_severity: Severity = Severity.INFO
    """Advisories rated below this are left out (unrated ones are kept: unknown is not low)."""
    concurrency: int = 8
    """Images checked at once (`[registry] concurrency`)."""
    today: dt.date = field(default_factory=dt.date.today)
    now: dt.datetime | None = None
    """The instant ages are measured to; None = midnight UTC of `today` if injected, else now."""

    def enabled(self, rule: str) -> bool:
        return rule not in self.skip_rules

    @property
    def instant(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)

    @property
    def reads_layers(self) -> bool:
        """Whether any enabled check needs files from the layers (no layer is fetched otherwise)."""
        checks = (R.OS_EOL, R.OS_UNKNOWN, R.POINT_RELEASE_LAG, R.ROLLING_STALE)
        return any(self.enabled(r) for r in checks) or self.patch_level

    @property
    def patch_level(self) -> bool:
        """Whether packages are matched against advisories: a database is named and the rule enabled."""
        return (self.advisories is not None or self.downloaded_osv) and self.enabled(R.VULNERABLE_PACKAGE)


def _non_empty_choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise TypeError("one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return check


def _rule_ids(value: Any, key: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise TypeError("a list of strings")
    known = {r.id for r in R.RULES}
    for item in items:
        if item not in known:
            raise ConfigValueError(f"unknown rule {item!r} (known: {', '.join(sorted(known))})")
    return tuple(items)


def canonical_flag_globs(globs: tuple[str, ...], flag: str) -> tuple[str, ...]:
    """`--allowed` globs, spelled as references are; a glob that could match nothing is a usage error."""
    from gates.errors import UsageError
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import canonical_glob

    try:
        return tuple(canonical_glob(glob) for glob in globs)
    except InvalidReferenceError as exc:
        raise UsageError(f"{flag}: {exc}") from None



_BUILD_KEYS = ("image", "dockerfile")


def _builds(value: Any, key: str) -> tuple[tuple[str, str, str], ...]:
    """`[[base-image.builds]]` -> (canonical image glob, Dockerfile as written, where) per build."""
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import canonical_glob

    if not isinstance(value, list):
        raise TypeError("an array of tables ([[base-image.builds]])")
    builds = []
    for number, item in enumerate(value, start=1):
        entry = f"entry {number}"
        if not isinstance(item, dict):
            raise ConfigValueError(f"{entry} must be a table with image and dockerfile")
        unknown = sorted(set(item) - set(_BUILD_KEYS))
        if unknown:
            raise ConfigValueError(f"{entry}: {unknown[0]}: unknown key (a build has {', '.join(_BUILD_KEYS)})")
        for name in _BUILD_KEYS:
            if not isinstance(item.get(name), str) or not item[name]:
                raise ConfigValueError(f"{entry}: {name} must be a non-empty string")
        try:
            glob = canonical_glob(item["image"])
        except InvalidReferenceError as exc:
            raise ConfigValueError(f"{entry}: image: {exc}") from None
        builds.append((glob, item["dockerfile"], f"{key}[{number}]"))
    return tuple(builds)


BASE_IMAGE_TABLE: Schema = {
    "images": (str_list, ()),
    "dockerfile": (string, ""),
    "builds": (_builds, ()),
    "max-age-days": (integer(0, 36500), 90),
    "max-base-age-days": (integer(0, 36500), 90),
    "unknown-age": (_non_empty_choice(UNKNOWN_OUTCOMES), "finding"),
    "allowed": (image_globs, ()),
    "require-digest": (boolean, True),
    "eol-phase": (_non_empty_choice(SUPPORT_PHASES), "security"),
    "unknown-os": (_non_empty_choice(UNKNOWN_OUTCOMES), "finding"),
    "max-point-release-lag": (integer(0, 1000), 1),
    "max-package-age-days": (integer(0, 36500), 30),
    "eol-data": (string, ""),
    "platforms": (str_list, ()),
    "skip-rules": (_rule_ids, ()),
    "max-layer-bytes": (integer(0, 64 * 1024**3), DEFAULT_MAX_LAYER_BYTES),
}
"""`[base-image]`: key -> (validator, default)."""

PATCH_LEVEL_TABLE: Schema = {
    "advisories": (string, ""),
    "downloaded-osv": (boolean, False),
    "ignore-unfixed": (boolean, False),
    "min-severity": (severity, Severity.INFO),
}
"""`[patch-level]`: the advisory database and which advisories count."""


@dataclass(frozen=True)
class Overrides:
    """Command-line flags; None = take the configuration's value."""

    images: tuple[str, ...] = ()
    dockerfile: str | None = None
    max_age_days: int | None = None
    max_base_age_days: int | None = None
    allowed: tuple[str, ...] = ()
    advisories: str | None = None
    ignore_unfixed: bool | None = None


def build_options(
    base: Mapping[str, Any], patch: Mapping[str, Any], registry: Mapping[str, Any], *,
    config_dir: Path, today: dt.date, injected_today: bool, flags: Overrides | None = None,
) -> BaseImageOptions:
    """Merge the tables and flags; paths in the file are relative to it, flags to the working directory."""
    flags = flags or Overrides()

    def from_file(value: str) -> Path | None:
        return (config_dir / value) if value else None

    dockerfile = Path(flags.dockerfile) if flags.dockerfile else from_file(base["dockerfile"])
    advisories = Path(flags.advisories) if flags.advisories else from_file(patch["advisories"])
    now = dt.datetime.combine(today, dt.time(), dt.timezone.utc) if injected_today else None
    return BaseImageOptions(
        images=flags.images or tuple(base["images"]),
        dockerfile=dockerfile,
        builds=tuple(Build(glob, config_dir / path, where) for glob, path, where in base["builds"]),
        max_age_days=base["max-age-days"] if flags.max_age_days is None else flags.max_age_days,
        max_base_age_days=(base["max-base-age-days"] if flags.max_base_age_days is None
                           else flags.max_base_age_days),
        unknown_age=base["unknown-age"],
        allowed=canonical_flag_globs(flags.allowed, "--allowed") or tuple(base["allowed"]),
        require_digest=base["require-digest"],
        eol_phase=base["eol-phase"],
        unknown_os=base["unknown-os"],
        max_point_release_lag=base["max-point-release-lag"],
        max_package_age_days=base["max-package-age-days"],
        eol_data=from_file(base["eol-data"]),
        platforms=tuple(base["platforms"]),
        skip_rules=frozenset(base["skip-rules"]),
        max_layer_bytes=base["max-layer-bytes"],
        advisories=advisories,
        downloaded_osv=patch["downloaded-osv"],
        ignore_unfixed=patch["ignore-unfixed"] if flags.ignore_unfixed is None else flags.ignore_unfixed,
        min_severity=patch["min-severity"],
        concurrency=max(1, int(registry["concurrency"])),
        today=today,
        now=now,
    )
