"""What an image says about itself: its config blob (created, user, labels) and manifest annotations.

Image age, base identity and the non-root check come from here. Reproducible builds stamp a zero
or epoch `created`, which is not an age: it is reported as unknown so the gate can decide what
unknown means instead of calling a 1970 image ancient (or a missing date fresh).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gates.errors import InputError

ANNOTATION_BASE_NAME = "org.opencontainers.image.base.name"
ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"
ANNOTATION_CREATED = "org.opencontainers.image.created"

PLAUSIBLE_SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
"""No container image predates this; earlier stamps (0001-01-01, 1970-01-01, SOURCE_DATE_EPOCH=0
and friends) are placeholders of reproducible builds, so the age is unknown."""


class ImageConfigError(InputError):
    """A config blob or manifest that is not the JSON object it must be."""


@dataclass(frozen=True)
class Timestamp:
    """A creation time as the image states it."""

    raw: str | None
    value: dt.datetime | None
    """Timezone-aware UTC; None when unknown."""
    unknown_reason: str | None = None
    """Why `value` is None: `absent`, `zero or epoch date (reproducible build)`, `unparsable`."""

    @property
    def known(self) -> bool:
        return self.value is not None

    def age_days(self, now: dt.datetime) -> int | None:
        """Whole days from `value` to `now` (negative when in the future); None when unknown."""
        if self.value is None:
            return None
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.timezone.utc)
        return (now - self.value).days


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$")


def parse_timestamp(raw: object) -> Timestamp:
    """An RFC 3339 time as written by Docker/BuildKit (nanoseconds allowed, `Z` or offset)."""
    if raw is None or raw == "":
        return Timestamp(None, None, "absent")
    if not isinstance(raw, str):
        return Timestamp(str(raw), None, "unparsable")
    match = _RFC3339.match(raw.strip())
    if match is None:
        return Timestamp(raw, None, "unparsable")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = match.group(8)
    tz = dt.timezone.utc
    try:
        if zone and zone not in ("Z", "z"):
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 23 or minutes > 59:
                return Timestamp(raw, None, "unparsable")
            tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        value = dt.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return Timestamp(raw, None, "unparsable")
    value = value.astimezone(dt.timezone.utc) if year > 1 else value.replace(tzinfo=dt.timezone.utc)
    if value < PLAUSIBLE_SINCE:
        return Timestamp(raw, None, "zero or epoch date (reproducible build)")
    return Timestamp(raw, value)


def _object(data: bytes | str | Mapping[str, Any], origin: str) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    try:
        parsed = json.loads(data)
    except RecursionError:
        raise ImageConfigError(f"{origin}: not JSON (nested too deeply)") from None
    except ValueError as exc:
        raise ImageConfigError(f"{origin}: not JSON ({exc})") from exc
    if not isinstance(parsed, dict):
        raise ImageConfigError(f"{origin}: not a JSON object")
    return parsed


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float))}


@dataclass(frozen=True)
class ImageConfig:
    """The fields of an OCI / Docker image config the base-image gate uses."""

    created: Timestamp
    user: str
    """`config.User` as written; empty means root."""
    labels: Mapping[str, str] = field(default_factory=dict)
    architecture: str | None = None
    os: str | None = None
    diff_ids: tuple[str, ...] | None = None
    """`rootfs.diff_ids`, bottom layer first: what shows which base an image was really built on.
    None when absent or not a list of digests."""

    @property
    def runs_as_root(self) -> bool:
        return is_root_user(self.user)


def parse_image_config(data: bytes | str | Mapping[str, Any], origin: str = "image config") -> ImageConfig:
    """Parse a config blob; `ImageConfigError` (naming `origin`) when it is not a JSON object."""
    raw = _object(data, origin)
    config = raw.get("config")
    if config is not None and not isinstance(config, dict):
        raise ImageConfigError(f"{origin}: 'config' is not an object")
    config = config or {}
    user = config.get("User")
    if user is not None and not isinstance(user, str):
        raise ImageConfigError(f"{origin}: config.User is not a string")
    arch, os_name = raw.get("architecture"), raw.get("os")
    return ImageConfig(
        created=parse_timestamp(raw.get("created")),
        user=user or "",
        labels=_strings(config.get("Labels")),
        architecture=arch if isinstance(arch, str) else None,
        os=os_name if isinstance(os_name, str) else None,
        diff_ids=_diff_ids(raw.get("rootfs")),
    )


def _diff_ids(rootfs: object) -> tuple[str, ...] | None:
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) and _DIGEST.match(i) for i in ids):
        return None
    return tuple(i.lower() for i in ids)


def names_a_user(user: str | None) -> bool:
    """Whether `user` is a user name (not a uid, not root): only `etc/passwd` can say if it is uid 0."""
    name = (user or "").strip().split(":", 1)[0].strip()
    return bool(name) and name != "root" and re.fullmatch(r"[+-]?[0-9]+", name) is None


def is_root_user(user: str | None, passwd: bytes | str | None = None) -> bool:
    """True when a container runs as root: user empty, `root`, uid 0, with any group (`0:0`).

    A named user counts as non-root unless `passwd` (the image's `etc/passwd`) maps it to uid 0.
    """
    name = (user or "").strip().split(":", 1)[0].strip()
    if name in ("", "root"):
        return True
    if re.fullmatch(r"[+-]?[0-9]+", name):  # as the runtime reads a uid: `+0`, `-0` and `000` are root too
        return int(name) == 0
    if passwd is not None:
        text = passwd.decode("utf-8", errors="replace") if isinstance(passwd, bytes) else passwd
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == name:
                return fields[2].strip() == "0"
    return False


@dataclass(frozen=True)
class ManifestAnnotations:
    """Base-image and creation annotations of a manifest (or index entry)."""

    base_name: str | None
    base_digest: str | None
    created: Timestamp
    annotations: Mapping[str, str] = field(default_factory=dict)
    base_source: str | None = None
    """Who claims the base: `annotation` (this manifest's, or its index's) or `label` (the config's,
    which an image inherits from every image it was built on, so it may describe an ancestor)."""


_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


def parse_manifest_annotations(
    data: bytes | str | Mapping[str, Any], origin: str = "manifest", labels: Mapping[str, str] | None = None
) -> ManifestAnnotations:
    """Annotations of a manifest; the config `labels` fill in keys some builders write there instead.

    The base name and digest are taken as a pair from one source, annotations first: a label pair
    may be inherited from an intermediate image and must not complete an annotation's claim.
    """
    raw = _object(data, origin)
    annotations = raw.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise ImageConfigError(f"{origin}: 'annotations' is not an object")
    own, inherited = _strings(annotations or {}), _strings(labels or {})
    merged = {**inherited, **own}
    claimed_by_annotation = bool(own.get(ANNOTATION_BASE_NAME) or own.get(ANNOTATION_BASE_DIGEST))
    source, claim = ("annotation", own) if claimed_by_annotation else ("label", inherited)
    base_name = claim.get(ANNOTATION_BASE_NAME) or None
    base_digest = claim.get(ANNOTATION_BASE_DIGEST) or None
    if base_digest is not None and not _DIGEST.match(base_digest):
        raise ImageConfigError(f"{origin}: {source} {ANNOTATION_BASE_DIGEST} {base_digest!r} is not a digest")
    return ManifestAnnotations(
        base_name=base_name,
        base_digest=base_digest,
        created=parse_timestamp(merged.get(ANNOTATION_CREATED)),
        annotations=merged,
        base_source=source if base_name else None,
    )
