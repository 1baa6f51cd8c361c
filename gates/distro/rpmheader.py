"""The RPM header blob, as every rpm database backend stores one per installed package.

SQLite's `Packages.blob`, a BerkeleyDB `Packages` value and an NDB blob all hold the same bytes: the
"immutable region" rpm writes at install time, without the 8-byte lead magic of a package file. Its
layout (big-endian throughout): `il` index entries and `dl` data bytes as two int32, then `il` entries
of (tag, type, offset, count), then the data store. Only the tags that name and date a package are
read; every count, offset and length is checked against the blob before it is used, so a blob that
lies about its lengths is an `RpmHeaderError` naming what lies, never a read past the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gates.errors import InputError

MAX_INDEX_ENTRIES = 0xFFFF
"""rpm's own limit on tags per header (`HEADER_TAGS_MAX`)."""
MAX_DATA_BYTES = 256 * 1024 * 1024
"""rpm refuses headers with more data than this (`HEADER_DATA_MAX`)."""

_ENTRY = struct.Struct(">iIiI")
_INT32 = struct.Struct(">I")

TAG_SIGMD5 = 261
TAG_NAME = 1000
TAG_VERSION = 1001
TAG_RELEASE = 1002
TAG_EPOCH = 1003
TAG_BUILDTIME = 1006
TAG_SIZE = 1009
TAG_VENDOR = 1011
TAG_LICENSE = 1014
TAG_ARCH = 1022
TAG_SOURCERPM = 1044
TAG_MODULARITYLABEL = 5096

_STRING, _BIN, _STRING_ARRAY, _I18NSTRING, _INT32_TYPE = 6, 7, 8, 9, 4
_STRING_TYPES = (_STRING, _STRING_ARRAY, _I18NSTRING)
_WANTED = frozenset({
    TAG_SIGMD5, TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_BUILDTIME, TAG_SIZE, TAG_VENDOR, TAG_LICENSE,
    TAG_ARCH, TAG_SOURCERPM, TAG_MODULARITYLABEL,
})


class RpmHeaderError(InputError):
    """A header blob that is truncated, lies about its lengths, or lacks a package's name or version."""


@dataclass(frozen=True)
class RpmHeader:
    """What one installed package's header says about it."""

    name: str
    version: str
    release: str
    epoch: int | None
    """None when the header has no EPOCH tag (rpm then compares as epoch 0)."""
    arch: str | None
    sourcerpm: str | None
    """`util-linux-2.32.1-42.el8_8.src.rpm`; None for gpg-pubkey entries and source-less packages."""
    modularity_label: str | None = None
    """`nodejs:10:8020020200707141642:6a468ee4` for a package from a RHEL 8+ module stream."""
    build_time: int | None = None
    """BUILDTIME, seconds since the epoch: when the distribution built this package."""
    vendor: str | None = None
    license: str | None = None
    size: int | None = None
    sigmd5: str | None = None
    """The package's MD5 digest as lowercase hex (all 16 bytes, trailing zeroes kept)."""

    @property
    def evr(self) -> str:
        """`[epoch:]version-release`, as rpm orders versions."""
        prefix = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{prefix}{self.version}-{self.release}"


def _string(data: bytes, offset: int, what: str) -> str:
    end = data.find(b"\0", offset)
    if end < 0:
        raise RpmHeaderError(f"{what}: string at data offset {offset} has no terminating NUL")
    return data[offset:end].decode("utf-8", errors="replace")


def _value(tag: int, kind: int, offset: int, count: int, data: bytes) -> str | int | bytes:
    what = f"tag {tag}"
    if offset < 0 or offset >= len(data):
        raise RpmHeaderError(f"{what}: data offset {offset} outside the {len(data)} data bytes")
    if count < 1:
        raise RpmHeaderError(f"{what}: count {count}")
    if kind in _STRING_TYPES:
        return _string(data, offset, what)  # the first string of an array or of an i18n table
    if kind == _INT32_TYPE:
        if offset + 4 > len(data):
            raise RpmHeaderError(f"{what}: int32 at data offset {offset} runs past the data")
        return int(_INT32.unpack_from(data, offset)[0])
    if kind == _BIN:
        if offset + count > len(data):
            raise RpmHeaderError(f"{what}: {count} bytes at data offset {offset} run past the data")
        return data[offset : offset + count]
    raise RpmHeaderError(f"{what}: unexpected type {kind}")


def parse_header(blob: bytes, where: str = "header") -> RpmHeader:
    """The package one header blob describes; `RpmHeaderError` (prefixed by `where`) when it cannot be."""
    try:
        return _parse(blob)
    except RpmHeaderError as exc:
        raise RpmHeaderError(f"{where}: {exc}") from None


def _parse(blob: bytes) -> RpmHeader:
    if len(blob) < 8:
        raise RpmHeaderError(f"{len(blob)} bytes, shorter than a header's 8-byte preamble")
    il, dl = struct.unpack_from(">II", blob, 0)
    if not 1 <= il <= MAX_INDEX_ENTRIES:
        raise RpmHeaderError(f"claims {il} index entries (1 to {MAX_INDEX_ENTRIES} allowed)")
    if dl > MAX_DATA_BYTES:
        raise RpmHeaderError(f"claims {dl} data bytes (at most {MAX_DATA_BYTES})")
    data_start = 8 + il * _ENTRY.size
    if data_start + dl != len(blob):
        raise RpmHeaderError(f"claims {il} entries and {dl} data bytes ({data_start + dl} in all), but the blob"
                             f" has {len(blob)}")
    data = blob[data_start:]
    values: dict[int, str | int | bytes] = {}
    for index in range(il):
        tag, kind, offset, count = _ENTRY.unpack_from(blob, 8 + index * _ENTRY.size)
        if tag in _WANTED and tag not in values:
            values[tag] = _value(tag, kind, offset, count, data)

    def text(tag: int) -> str | None:
        value = values.get(tag)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RpmHeaderError(f"tag {tag} is not a string")
        return value

    def number(tag: int) -> int | None:
        value = values.get(tag)
        if value is None:
            return None
        if not isinstance(value, int):
            raise RpmHeaderError(f"tag {tag} is not an int32")
        return value

    name, version, release = text(TAG_NAME), text(TAG_VERSION), text(TAG_RELEASE)
    if not name:
        raise RpmHeaderError("no NAME tag")
    if not version or release is None:
        raise RpmHeaderError(f"package {name!r} has no VERSION or RELEASE tag")
    digest = values.get(TAG_SIGMD5)
    return RpmHeader(
        name=name, version=version, release=release, epoch=number(TAG_EPOCH), arch=text(TAG_ARCH),
        sourcerpm=text(TAG_SOURCERPM), modularity_label=text(TAG_MODULARITYLABEL) or None,
        build_time=number(TAG_BUILDTIME), vendor=text(TAG_VENDOR), license=text(TAG_LICENSE), size=number(TAG_SIZE),
        sigmd5=digest.hex() if isinstance(digest, bytes) else None,
    )


def source_package(sourcerpm: str) -> tuple[str, str] | None:
    """(name, version-release) of a SOURCERPM value (`util-linux-2.32.1-42.el8_8.src.rpm`), None if malformed."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if sourcerpm.endswith(suffix):
            stem = sourcerpm[: -len(suffix)]
            break
    else:
        return None
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], f"{parts[1]}-{parts[2]}"
