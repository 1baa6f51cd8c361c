"""Installed packages of an RPM-based image, from whichever database it carries.

Three backends store the same header blobs: SQLite `rpmdb.sqlite` (Fedora 33+, RHEL/UBI 9+, Amazon
Linux 2023, Azure Linux), BerkeleyDB Hash `Packages` (RHEL/UBI 7 and 8, Amazon Linux 2, SLES 12) and
NDB `Packages.db` (SLE 15, openSUSE Leap), under `var/lib/rpm/` or, since rpm 4.16 on some
distributions, `usr/lib/sysimage/rpm/`. Distroless CBL-Mariner images have no database, only the
text manifest `var/lib/rpmmanifest/container-manifest-2`, which is read too.

SQLite is read with the standard library from a private temporary copy (with its write-ahead log, if
the image has a non-empty one), opened read-only and immutable when there is no log, with
`trusted_schema` off, and only from a `Packages` *table* with `hnum` and `blob`
columns, so a hostile file's views or triggers never run. BerkeleyDB and NDB are read by
`gates.distro.bdb_hash` and `gates.distro.rpm_ndb`. Anything unreadable is an `RpmDBError` naming the
file; there is no partial answer.
"""

from __future__ import annotations

import posixpath
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gates.distro.bdb_hash import byte_order, hash_values
from gates.distro.rpm_ndb import ndb_blobs
from gates.distro.rpmheader import RpmHeader, RpmHeaderError, parse_header
from gates.errors import InputError
from gates.model import one_line

RPM_DIRS = ("var/lib/rpm", "usr/lib/sysimage/rpm")
SQLITE_NAME, BDB_NAME, NDB_NAME = "rpmdb.sqlite", "Packages", "Packages.db"
MANIFEST_PATH = "var/lib/rpmmanifest/container-manifest-2"
WAL_SUFFIX = "-wal"
RPMDB_PATHS = (
    *(f"{d}/{name}" for name in (SQLITE_NAME, NDB_NAME, BDB_NAME) for d in RPM_DIRS),
    MANIFEST_PATH,
)
"""Every database `read_rpmdb` may use, in the order it prefers them (the newest backend first)."""
RPMDB_FILES = (*RPMDB_PATHS, *(f"{d}/{SQLITE_NAME}{WAL_SUFFIX}" for d in RPM_DIRS))
"""Every file `read_rpmdb` reads: the databases, and SQLite's write-ahead log, which may hold the last
transactions when rpm was stopped before it checkpointed."""

PSEUDO_PACKAGES = frozenset({"gpg-pubkey"})
"""Entries rpm keeps for imported signing keys: not software, never matched against advisories."""


class RpmDBError(InputError):
    """An rpm database that cannot be read; the message names the file and the page, slot or record."""


@dataclass(frozen=True)
class RpmRecord:
    """One package entry and where it was read."""

    header: RpmHeader
    location: str
    """`FILE#RECORD`: the database file and the record's number in it."""


@dataclass(frozen=True)
class RpmDB:
    path: str
    format: str
    """`sqlite`, `bdb`, `ndb` or `manifest`."""
    records: tuple[RpmRecord, ...]


def is_rpmdb_path(path: str) -> bool:
    return path.lstrip("/") in RPMDB_FILES


def read_rpmdb(files: Mapping[str, bytes]) -> RpmDB | None:
    """The image's rpm database among `files` (path -> content), None when it has none.

    Which database rpm reads is its configuration's choice, so when an image holds several, each is read:
    those that list packages must list the same ones, else the answer is ambiguous (`RpmDBError`), never
    the first file's. The Mariner manifest is only a summary, read when there is no database.
    """
    clean = {path.lstrip("/"): data for path, data in files.items()}
    found = [parse_rpmdb(path, clean[path], clean.get(path + WAL_SUFFIX, b""))
             for path in RPMDB_PATHS if path in clean and path != MANIFEST_PATH]
    if not found:
        return parse_rpmdb(MANIFEST_PATH, clean[MANIFEST_PATH]) if MANIFEST_PATH in clean else None
    listing = [db for db in found if db.records]
    for other in listing[1:]:
        if _package_set(other) != _package_set(listing[0]):
            raise RpmDBError(f"{listing[0].path} and {other.path} list different packages"
                             f" ({len(listing[0].records)} and {len(other.records)}): which one rpm reads is"
                             " ambiguous")
    return listing[0] if listing else found[0]


def _package_set(db: RpmDB) -> frozenset[tuple[str, str, str | None]]:
    return frozenset((r.header.name, r.header.evr, r.header.arch) for r in db.records)


def parse_rpmdb(path: str, data: bytes, wal: bytes = b"") -> RpmDB:
    """The records of one database file, its format chosen by its name (`wal`: SQLite's log beside it)."""
    name = posixpath.basename(path)
    if path.lstrip("/") == MANIFEST_PATH:
        return RpmDB(path, "manifest", tuple(_manifest(path, data)))
    try:
        if name == SQLITE_NAME:
            return RpmDB(path, "sqlite", tuple(_records(path, _sqlite_blobs(path, data, wal))))
        if name == NDB_NAME:
            return RpmDB(path, "ndb", tuple(_records(path, ndb_blobs(data))))
        if name == BDB_NAME:
            return RpmDB(path, "bdb", tuple(_records(path, _bdb_blobs(data))))
    except RpmDBError:
        raise
    except RpmHeaderError as exc:  # already names the record
        raise RpmDBError(str(exc)) from None
    except InputError as exc:
        raise RpmDBError(f"{path}: {exc}") from None
    raise RpmDBError(f"{path}: not an rpm database name gates knows")


def _records(path: str, blobs: Iterator[tuple[int, bytes]]) -> Iterator[RpmRecord]:
    for number, blob in blobs:
        where = f"{path}#{number}"
        yield RpmRecord(parse_header(blob, where), where)


def _bdb_blobs(data: bytes) -> Iterator[tuple[int, bytes]]:
    order = byte_order(data)
    for key, value in hash_values(data):
        number = int.from_bytes(key, order) if len(key) == 4 else -1
        if number == 0:
            continue  # record 0 holds rpm's next install number, not a package
        yield number, value


def _sqlite_blobs(path: str, data: bytes, wal: bytes) -> Iterator[tuple[int, bytes]]:
    if not data.startswith(b"SQLite format 3\0"):
        raise RpmDBError(f"{path}: not an SQLite database ({len(data)} bytes without the SQLite header)")
    with tempfile.TemporaryDirectory(prefix="gates-rpmdb-") as tmp:
        copy = Path(tmp) / "rpmdb.sqlite"
        copy.write_bytes(data)
        if wal:  # SQLite replays the log into the private copy; the image's files are never touched
            Path(f"{copy}{WAL_SUFFIX}").write_bytes(wal)
        try:
            rows = _sqlite_rows(copy, immutable=not wal)
        except sqlite3.Error as exc:
            raise RpmDBError(f"{path}: not a readable SQLite rpm database ({one_line(str(exc))[:200]})") from None
    for number, blob in rows:
        if not isinstance(number, int) or not isinstance(blob, bytes):
            raise RpmDBError(f"{path}: Packages row {number!r} holds a {type(blob).__name__}, not a header blob")
        yield number, blob


def _sqlite_rows(copy: Path, *, immutable: bool) -> list[tuple[object, object]]:
    mode = "mode=ro&immutable=1" if immutable else "mode=rw"
    connection = sqlite3.connect(f"{copy.as_uri()}?{mode}", uri=True)
    try:
        connection.execute("PRAGMA trusted_schema = OFF")
        kind = connection.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind is None or kind[0] != "table":
            raise sqlite3.DatabaseError("no Packages table")
        columns = {row[1] for row in connection.execute("PRAGMA table_info('Packages')")}
        if not {"hnum", "blob"} <= columns:
            raise sqlite3.DatabaseError(f"the Packages table has columns {sorted(columns)}, not hnum and blob")
        return list(connection.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"))
    finally:
        connection.close()


_MANIFEST_FIELDS = 10
"""NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME, VENDOR, EPOCH, SIZE, ARCH, EPOCHNUM, SOURCERPM."""


def _manifest(path: str, data: bytes) -> Iterator[RpmRecord]:
    text = data.decode("utf-8", errors="replace")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split("\t")
        if len(fields) != _MANIFEST_FIELDS:
            raise RpmDBError(f"{where}: {len(fields)} tab-separated fields, expected {_MANIFEST_FIELDS}")
        name, evr, _installed, built, vendor, epoch, size, arch, _epochnum, source = fields
        version, dash, release = evr.rpartition("-")
        if not name or not dash or not version or not release:
            raise RpmDBError(f"{where}: package {name!r}: {evr!r} is not VERSION-RELEASE")
        try:
            epoch_value = None if epoch == "(none)" else int(epoch)
            build_time = int(built)
            size_value = int(size)
        except ValueError:
            raise RpmDBError(f"{where}: package {name!r}: epoch, build time or size is not a number") from None
        header = RpmHeader(name=name, version=version, release=release, epoch=epoch_value, arch=arch or None,
                           sourcerpm=source or None, build_time=build_time, vendor=vendor, size=size_value)
        yield RpmRecord(header, where)
