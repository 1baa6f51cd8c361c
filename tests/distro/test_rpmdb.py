"""rpm databases: every package of the corpus's real SQLite, BerkeleyDB and NDB files is read as its
upstream tests state; every broken file and lying header is one error line, never packages."""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

from gates.distro.bdb_hash import BerkeleyDBError, hash_values
from gates.distro.pkgdb import PackageDBError, PackageManager, is_package_db_path, read_package_db
from gates.distro.rpm_ndb import NdbError, ndb_blobs
from gates.distro.rpmdb import MANIFEST_PATH, RpmDBError, parse_rpmdb, read_rpmdb
from gates.distro.rpmheader import RpmHeaderError, parse_header, source_package
from gates.errors import InputError
from tests.distro.corpus import corpus_path, load_json

_IMAGE_PATH = {"sqlite": "var/lib/rpm/rpmdb.sqlite", "bdb": "var/lib/rpm/Packages", "ndb": "var/lib/rpm/Packages.db"}
_FIELDS = ("name", "epoch", "version", "release", "arch", "sourcerpm", "vendor", "license", "size", "sigmd5")


def _raw(case: dict[str, Any]) -> bytes:
    data = corpus_path("rpmdb", case["file"]).read_bytes()
    if case["file"].endswith(".gz"):
        data = gzip.decompress(data)
    assert hashlib.sha256(data).hexdigest() == case["sha256"], case["file"]
    return data


def _as_expected(header: Any, expected: dict[str, Any]) -> dict[str, Any]:
    values = {"modularitylabel": header.modularity_label, **{f: getattr(header, f) for f in _FIELDS}}
    return {k: values[k] for k in expected if k in values}


def _cases(error: bool) -> list[dict[str, Any]]:
    return [c for c in load_json("rpmdb", "expected.json")["cases"] if bool(c.get("error")) is error]


def test_every_package_of_every_corpus_database_is_read_as_upstream_states() -> None:
    read = 0
    for case in _cases(error=False):
        data = _raw(case)
        expected = case.get("packages") or case.get("packages_derived")
        assert expected is not None and len(expected) == case["count"], case["file"]
        if case["format"].startswith("rpm header blob"):
            headers = [parse_header(data)]
        elif case["format"].startswith("rpm manifest"):
            headers = [r.header for r in parse_rpmdb(MANIFEST_PATH, data).records]
        else:
            db = read_rpmdb({_IMAGE_PATH[case["format"]]: data})
            assert db is not None and db.format == case["format"]
            headers = [r.header for r in db.records]
        assert len(headers) == case["count"], case["file"]
        assert [_as_expected(h, e) for h, e in zip(headers, expected, strict=True)] == expected, case["file"]
        read += len(headers)
    assert read == 35 + 129 + 1 + 1 + 1 + 5 + 1 + 1 + 1  # 100 % of the corpus's 175 packages


def test_the_ndb_list_is_upstreams_full_ordered_list() -> None:
    [case] = [c for c in _cases(error=False) if c["format"] == "ndb"]
    db = read_rpmdb({_IMAGE_PATH["ndb"]: _raw(case)})
    assert db is not None
    assert [r.header.name for r in db.records] == [p["name"] for p in case["packages"]]
    assert db.records[0].location == "var/lib/rpm/Packages.db#1"


def test_sigmd5_keeps_trailing_zeroes_and_epoch_is_kept_apart() -> None:
    libuuid = next(c for c in _cases(error=False) if c["file"] == "go-rpmdb/libuuid/Packages")
    db = read_rpmdb({_IMAGE_PATH["bdb"]: _raw(libuuid)})
    assert db is not None and db.records[0].header.sigmd5 == "c1e561f13d39aee443a1f00258fba000"
    hello = next(c for c in _cases(error=False) if c["file"] == "osv-scalibr/Packages_epoch")
    db = read_rpmdb({_IMAGE_PATH["bdb"]: _raw(hello)})
    assert db is not None
    assert (db.records[0].header.epoch, db.records[0].header.evr) == (1, "1:0.0.1-rls")


@pytest.mark.parametrize("case", _cases(error=True), ids=lambda c: str(c["file"]))
def test_every_broken_corpus_file_is_an_error_line(case: dict[str, Any]) -> None:
    data = _raw(case)
    name = Path(case["file"]).name
    paths = [f"var/lib/rpm/{name}"] if name in ("rpmdb.sqlite", "Packages") else list(_IMAGE_PATH.values())
    if name == "empty.sqlite":
        paths = [_IMAGE_PATH["sqlite"]]
    for path in paths:
        with pytest.raises(RpmDBError) as caught:
            parse_rpmdb(path, data)
        message = str(caught.value)
        assert message.startswith(path + ": ") and "\n" not in message


def test_gpg_pubkey_entries_are_not_packages_and_source_names_come_from_sourcerpm(tmp_path: Path) -> None:
    blob = corpus_path("rpmdb", "go-rpmdb", "blob.bin").read_bytes()
    key = _header({1000: "gpg-pubkey", 1001: "fd431d51", 1002: "4ae0493b"})
    db = read_package_db({"var/lib/rpm/rpmdb.sqlite": _sqlite(tmp_path, [blob, key])})
    assert db is not None and db.manager is PackageManager.RPM
    [package] = db.packages
    assert (package.name, package.version, package.source_name, package.source_version) == (
        "publicsuffix-list-dafsa", "20210518-2.fc35", "publicsuffix-list", "20210518-2.fc35")
    assert package.build_time == 1627015083 and package.location == "var/lib/rpm/rpmdb.sqlite#1"
    assert source_package("util-linux-2.32.1-42.el8_8.src.rpm") == ("util-linux", "2.32.1-42.el8_8")
    assert source_package("not-a-source-rpm") is None


def test_rpm_paths_are_read_and_a_second_package_manager_is_ambiguous(tmp_path: Path) -> None:
    assert is_package_db_path("/usr/lib/sysimage/rpm/rpmdb.sqlite") and is_package_db_path(MANIFEST_PATH)
    blob = corpus_path("rpmdb", "go-rpmdb", "blob.bin").read_bytes()
    status = "Package: base-files\nStatus: install ok installed\nVersion: 13.8\n"
    with pytest.raises(PackageDBError, match=r"both var/lib/rpm/rpmdb\.sqlite and var/lib/dpkg/status list packages"):
        read_package_db({"var/lib/rpm/rpmdb.sqlite": _sqlite(tmp_path, [blob]), "var/lib/dpkg/status": status})


# --- hostile input: built here, each a way a header or page can lie -------------------------------


def _header(tags: dict[int, str | int]) -> bytes:
    """A header blob holding string (type 6) and int32 (type 4) tags."""
    entries, data = b"", b""
    for tag, value in tags.items():
        if isinstance(value, int):
            data += b"\0" * (-len(data) % 4)
            entries += struct.pack(">iIiI", tag, 4, len(data), 1)
            data += struct.pack(">I", value)
        else:
            entries += struct.pack(">iIiI", tag, 6, len(data), 1)
            data += value.encode() + b"\0"
    return struct.pack(">II", len(tags), len(data)) + entries + data


def _sqlite(tmp_path: Path, blobs: list[bytes], schema: str = "hnum INTEGER PRIMARY KEY, blob BLOB") -> bytes:
    path = tmp_path / f"db{len(list(tmp_path.iterdir()))}.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE Packages ({schema})")
        connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
    connection.close()
    return path.read_bytes()


_GOOD = _header({1000: "bash", 1001: "5.2.15", 1002: "3.el9", 1006: 1700000000})


def test_a_built_header_reads_back() -> None:
    header = parse_header(_GOOD)
    assert (header.name, header.evr, header.epoch, header.build_time) == ("bash", "5.2.15-3.el9", None, 1700000000)


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"\0\0\0", "shorter than a header's 8-byte preamble"),
        (struct.pack(">II", 0x10000, 0), "claims 65536 index entries"),
        (struct.pack(">II", 1, 0x7FFFFFFF), "data bytes (at most"),
        (_GOOD[:-1], "but the blob has"),
        (_GOOD + b"\0", "but the blob has"),
        (_GOOD[:8] + struct.pack(">iIiI", 1000, 6, 9999, 1) + _GOOD[24:], "data offset 9999 outside"),
        (_GOOD[:8] + struct.pack(">iIiI", 1000, 6, -4, 1) + _GOOD[24:], "data offset -4 outside"),
        (_header({1000: "x"})[:-1] + b"y", "has no terminating NUL"),
        (_header({1001: "1", 1002: "1"}), "no NAME tag"),
        (_header({1000: "bash", 1002: "1"}), "package 'bash' has no VERSION"),
        (_header({1000: 7, 1001: "1", 1002: "1"}), "tag 1000 is not a string"),
    ],
)
def test_a_header_that_lies_is_one_error(blob: bytes, says: str) -> None:
    with pytest.raises(RpmHeaderError) as caught:
        parse_header(blob, "var/lib/rpm/rpmdb.sqlite#3")
    assert str(caught.value).startswith("var/lib/rpm/rpmdb.sqlite#3: ") and says in str(caught.value)


def test_sqlite_refuses_views_text_blobs_and_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "view.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE real (hnum INTEGER, blob BLOB)")
        connection.execute("CREATE VIEW Packages AS SELECT hnum, blob FROM real")
    connection.close()
    with pytest.raises(RpmDBError, match="no Packages table"):
        parse_rpmdb("var/lib/rpm/rpmdb.sqlite", path.read_bytes())
    rows = tmp_path / "rows.sqlite"
    with sqlite3.connect(rows) as connection:
        connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob TEXT)")
        connection.execute("INSERT INTO Packages (blob) VALUES ('not a blob')")
    connection.close()
    with pytest.raises(RpmDBError, match="row 1 holds a str, not a header blob"):
        parse_rpmdb("var/lib/rpm/rpmdb.sqlite", rows.read_bytes())
    broken = _sqlite(tmp_path, [_GOOD, _GOOD[:-3]])
    with pytest.raises(RpmDBError, match=r"^var/lib/rpm/rpmdb.sqlite#2: claims"):
        parse_rpmdb("var/lib/rpm/rpmdb.sqlite", broken)
    damaged = bytearray(_sqlite(tmp_path, [_GOOD] * 50))
    damaged[4096:8192] = b"\xff" * 4096  # a page of the table, overwritten
    with pytest.raises(InputError, match=r"^var/lib/rpm/rpmdb\.sqlite: "):
        parse_rpmdb("var/lib/rpm/rpmdb.sqlite", bytes(damaged))


def _bdb_file() -> bytearray:
    case = next(c for c in _cases(error=False) if c["file"] == "go-rpmdb/libuuid/Packages")
    return bytearray(_raw(case))


def _page_size_and_overflow_page(data: bytearray) -> tuple[int, int]:
    page_size = struct.unpack_from("<I", data, 20)[0]
    for pgno in range(1, len(data) // page_size):
        if data[pgno * page_size + 25] == 7:
            return page_size, pgno
    raise AssertionError("no overflow page")


def test_bdb_chains_that_loop_or_leave_the_file_are_errors() -> None:
    data = _bdb_file()
    page_size, first = _page_size_and_overflow_page(data)
    looped = bytearray(data)
    struct.pack_into("<I", looped, first * page_size + 16, first)  # next page = itself
    with pytest.raises(BerkeleyDBError, match="loops back"):
        list(hash_values(bytes(looped)))
    away = bytearray(data)
    struct.pack_into("<I", away, first * page_size + 16, 10_000)
    with pytest.raises(BerkeleyDBError, match="points at page 10000, past the last page"):
        list(hash_values(bytes(away)))
    greedy = bytearray(data)
    struct.pack_into("<H", greedy, first * page_size + 22, 65000)
    with pytest.raises(BerkeleyDBError, match=f"page {first}: overflow page claims 65000 bytes"):
        list(hash_values(bytes(greedy)))
    truncated = bytes(data[: 3 * page_size])
    with pytest.raises(BerkeleyDBError, match="meta page: last page"):
        list(hash_values(truncated))
    odd = bytearray(data)
    struct.pack_into("<I", odd, 20, 1000)
    with pytest.raises(BerkeleyDBError, match="page size 1000 is not a power of two"):
        list(hash_values(bytes(odd)))
    with pytest.raises(RpmDBError, match=r"^var/lib/rpm/Packages: page"):
        parse_rpmdb("var/lib/rpm/Packages", bytes(looped))


def test_a_bdb_overflow_chain_shared_by_two_records_is_an_error() -> None:
    """Each record owns its chain; one chain behind many items would make a small file read as huge."""
    data = _bdb_file()
    page_size = struct.unpack_from("<I", data, 20)[0]
    pages = [pgno for pgno in range(1, len(data) // page_size) if data[pgno * page_size + 25] in (2, 13)]
    owner = next(p for p in pages if data[p * page_size + struct.unpack_from("<H", data, p * page_size + 28)[0]] == 3)
    other = next(p for p in pages if p != owner)
    reference = struct.unpack_from("<H", data, owner * page_size + 28)[0]
    item = data[owner * page_size + reference: owner * page_size + reference + 12]
    shared = bytearray(data)
    start = page_size - 5 - 12  # the other page's value becomes an off-page reference to the same chain
    struct.pack_into("<H", shared, other * page_size + 28, start)
    shared[other * page_size + start: other * page_size + start + 12] = item
    struct.pack_into("<I", shared, other * page_size + page_size - 4, 7)  # its key: package 7, not record 0
    with pytest.raises(BerkeleyDBError, match="already read for another record"):
        list(hash_values(bytes(shared)))


def _ndb_file() -> bytearray:
    case = next(c for c in _cases(error=False) if c["format"] == "ndb")
    return bytearray(_raw(case))


def test_ndb_slots_that_point_outside_or_at_another_blob_are_errors() -> None:
    data = _ndb_file()
    assert len(list(ndb_blobs(bytes(data)))) == 35
    outside = bytearray(data)
    struct.pack_into("<I", outside, 32 + 8, 0x7FFFFFF)
    with pytest.raises(NdbError, match=r"slot 1 \(package 1\): blocks .* lie outside"):
        list(ndb_blobs(bytes(outside)))
    crossed = bytearray(data)
    struct.pack_into("<I", crossed, 32 + 4, 2)  # slot 1 claims package 2, whose blob is elsewhere
    with pytest.raises(NdbError, match=r"slot 1 \(package 2\): block 256 holds no blob of that package"):
        list(ndb_blobs(bytes(crossed)))
    long = bytearray(data)
    start = 256 * 16
    struct.pack_into("<I", long, start + 12, 10**8)
    with pytest.raises(NdbError, match="overruns its"):
        list(ndb_blobs(bytes(long)))
    with pytest.raises(NdbError, match="claims 9999 slot pages"):
        list(ndb_blobs(bytes(data[:12]) + struct.pack("<I", 9999) + bytes(data[16:])))
    twice = bytearray(data)  # slot 2 a copy of slot 1: one blob read for as many slots as the file holds
    twice[48:64] = data[32:48]
    with pytest.raises(NdbError, match=r"slot 2 \(package 1\): the package already has slot 1"):
        list(ndb_blobs(bytes(twice)))
    with pytest.raises(RpmDBError, match=r"^var/lib/rpm/Packages.db: slot 1"):
        parse_rpmdb("var/lib/rpm/Packages.db", bytes(crossed))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("vim\t9.0-1.cm2\t1\t2\tMS\t2\t45000\tx86_64\t2", "9 tab-separated fields, expected 10"),
        ("vim\t9.0\t1\t2\tMS\t2\t45000\tx86_64\t2\tvim-9.0-1.cm2.src.rpm", "'9.0' is not VERSION-RELEASE"),
        ("vim\t9.0-1\t1\tsoon\tMS\t2\t45000\tx86_64\t2\tvim-9.0-1.cm2.src.rpm", "is not a number"),
    ],
)
def test_a_broken_manifest_line_is_named(line: str, says: str) -> None:
    with pytest.raises(RpmDBError) as caught:
        parse_rpmdb(MANIFEST_PATH, f"{line}\n".encode())
    assert str(caught.value).startswith(f"{MANIFEST_PATH}:1: ") and says in str(caught.value)


def test_a_second_rpm_database_that_disagrees_is_ambiguous_not_ignored(tmp_path: Path) -> None:
    """rpm reads one database, chosen by its configuration: a SQLite one beside a BerkeleyDB that lists
    other packages must not stand for the image, nor an empty one hide them."""
    bdb = corpus_path("rpmdb", "syft", "centos8-dive", "Packages").read_bytes()
    full = parse_rpmdb("var/lib/rpm/Packages", bdb)
    assert [r.header.name for r in full.records] == ["dive"]
    small = _sqlite(tmp_path, [_GOOD])  # bash: another package than the BerkeleyDB's
    with pytest.raises(RpmDBError, match=r"var/lib/rpm/rpmdb\.sqlite and var/lib/rpm/Packages list different"):
        read_rpmdb({"var/lib/rpm/rpmdb.sqlite": small, "var/lib/rpm/Packages": bdb})
    empty = _sqlite(tmp_path, [])
    found = read_rpmdb({"usr/lib/sysimage/rpm/rpmdb.sqlite": empty, "var/lib/rpm/Packages": bdb})
    assert found is not None and found.path == "var/lib/rpm/Packages" and len(found.records) == len(full.records)
    same = read_rpmdb({"var/lib/rpm/Packages": bdb, "usr/lib/sysimage/rpm/Packages": bdb})
    assert same is not None and same.path == "var/lib/rpm/Packages"
    manifest = corpus_path("rpmdb", "syft", "mariner2-distroless", "container-manifest-2").read_bytes()
    beside = read_rpmdb({MANIFEST_PATH: manifest, "var/lib/rpm/Packages": bdb})  # the manifest is a summary
    assert beside is not None and beside.path == "var/lib/rpm/Packages"
