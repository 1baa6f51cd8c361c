"""Values of a BerkeleyDB Hash database file, read from its pages without libdb.

rpm up to 4.16 (RHEL/CentOS 7 and 8, UBI 8, Amazon Linux 2, SLES 12) keeps `var/lib/rpm/Packages` as
a BerkeleyDB Hash file: one record per package, keyed by its install number, the header blob as the
value, most of them on chains of overflow pages. Only that much of the format is read: the meta page
(magic, byte order, page size), hash pages' key/value pairs, and overflow chains. Every page number,
offset and length is checked against the file, and every chain against loops, so a broken page is a
`BerkeleyDBError` naming the page, never a wrong answer. An rpm index file (a Btree) is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Literal

from gates.errors import InputError

HASH_MAGIC = 0x061561
BTREE_MAGIC = 0x053162
_PAGE_HEADER = 26
"""lsn(8) pgno(4) prev(4) next(4) entries(2) hf_offset(2) level(1) type(1)."""
_HASH_META, _HASH_UNSORTED, _HASH, _OVERFLOW = 8, 2, 13, 7
_KEYDATA, _DUPLICATE, _OFFPAGE, _OFFDUP = 1, 2, 3, 4
_CHECKSUMMED, _ENCRYPTED_FLAG = 0x01, 0x02


class BerkeleyDBError(InputError):
    """The file is not a readable BerkeleyDB Hash database; the message names the page."""


def hash_values(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of every record, in page order."""
    order, page_size, last = _meta(data)
    chains: set[int] = set()  # first pages of the chains read: each is one record's, so work stays within the file
    for pgno in range(1, last + 1):
        page = data[pgno * page_size : (pgno + 1) * page_size]
        kind = page[25]
        if kind not in (_HASH, _HASH_UNSORTED):
            continue
        yield from _page_items(data, page, pgno, order, page_size, last, chains)


def byte_order(data: bytes) -> Literal["little", "big"]:
    """The byte order the database was written in (that of the machine that wrote it: s390x is big)."""
    if len(data) < 512:
        raise BerkeleyDBError(f"{len(data)} bytes, too short for a BerkeleyDB meta page")
    orders: tuple[Literal["little", "big"], ...] = ("little", "big")
    for order in orders:
        magic = int.from_bytes(data[12:16], order)
        if magic == HASH_MAGIC:
            return order
        if magic == BTREE_MAGIC:
            raise BerkeleyDBError("a BerkeleyDB Btree (an rpm index file), not the Hash database of packages")
    raise BerkeleyDBError("not a BerkeleyDB Hash database (no hash magic in the meta page)")


def _meta(data: bytes) -> tuple[str, int, int]:
    order = "<" if byte_order(data) == "little" else ">"
    page_size = struct.unpack_from(order + "I", data, 20)[0]
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise BerkeleyDBError(f"meta page: page size {page_size} is not a power of two from 512 to 65536")
    if data[24] != 0 or data[26] & _ENCRYPTED_FLAG:
        raise BerkeleyDBError("meta page: the database is encrypted")
    if data[26] & _CHECKSUMMED:
        raise BerkeleyDBError("meta page: page checksums are not supported")
    if data[25] != _HASH_META:
        raise BerkeleyDBError(f"meta page: type {data[25]}, not a hash meta page")
    last = struct.unpack_from(order + "I", data, 32)[0]
    pages = len(data) // page_size
    if last >= pages:
        raise BerkeleyDBError(f"meta page: last page {last}, but the file holds {pages} pages of {page_size} bytes")
    return order, page_size, last


def _page_items(data: bytes, page: bytes, pgno: int, order: str, page_size: int,
                last: int, chains: set[int]) -> Iterator[tuple[bytes, bytes]]:
    entries = struct.unpack_from(order + "H", page, 20)[0]
    table_end = _PAGE_HEADER + 2 * entries
    if entries % 2 or table_end > page_size:
        raise BerkeleyDBError(f"page {pgno}: {entries} entries do not make key/value pairs on the page")
    offsets = struct.unpack_from(f"{order}{entries}H", page, _PAGE_HEADER)
    for index in range(0, entries, 2):
        key = _item(data, page, pgno, offsets, index, table_end, order, page_size, last, chains)
        value = _item(data, page, pgno, offsets, index + 1, table_end, order, page_size, last, chains)
        yield key, value


def _item(data: bytes, page: bytes, pgno: int, offsets: tuple[int, ...], index: int, table_end: int, order: str,
          page_size: int, last: int, chains: set[int]) -> bytes:
    start = offsets[index]
    end = page_size if index == 0 else offsets[index - 1]
    if not table_end <= start < end <= page_size:
        raise BerkeleyDBError(f"page {pgno}: item {index} at offset {start}..{end} lies outside the page's items")
    kind = page[start]
    if kind == _KEYDATA:
        return page[start + 1 : end]
    if kind == _OFFPAGE:
        if end - start < 12:
            raise BerkeleyDBError(f"page {pgno}: item {index} is an off-page reference shorter than 12 bytes")
        first, length = struct.unpack_from(order + "II", page, start + 4)
        if first in chains:
            raise BerkeleyDBError(f"page {pgno}: item {index} points at the overflow chain from page {first},"
                                  " already read for another record")
        chains.add(first)
        return _overflow(data, first, length, order, page_size, last, pgno)
    if kind in (_DUPLICATE, _OFFDUP):
        raise BerkeleyDBError(f"page {pgno}: item {index} holds duplicates, which rpm's Packages never has")
    raise BerkeleyDBError(f"page {pgno}: item {index} has unknown type {kind}")


def _overflow(data: bytes, first: int, length: int, order: str, page_size: int, last: int, owner: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    seen: set[int] = set()
    pgno = first
    while pgno != 0:
        if pgno > last or pgno in seen:
            problem = "loops back" if pgno in seen else f"points at page {pgno}, past the last page {last}"
            raise BerkeleyDBError(f"page {owner}: the overflow chain from page {first} {problem}")
        seen.add(pgno)
        page = data[pgno * page_size : (pgno + 1) * page_size]
        if page[25] != _OVERFLOW:
            raise BerkeleyDBError(f"page {pgno}: type {page[25]} in an overflow chain from page {first}")
        used = struct.unpack_from(order + "H", page, 22)[0]
        if _PAGE_HEADER + used > page_size or total + used > length:
            raise BerkeleyDBError(f"page {pgno}: overflow page claims {used} bytes, more than the page or the"
                                  f" record's {length} holds")
        chunks.append(page[_PAGE_HEADER : _PAGE_HEADER + used])
        total += used
        pgno = struct.unpack_from(order + "I", page, 16)[0]
    if total != length:
        raise BerkeleyDBError(f"page {owner}: overflow chain from page {first} holds {total} of {length} bytes")
    return b"".join(chunks)
