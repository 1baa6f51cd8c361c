"""Header blobs of rpm's NDB database (`Packages.db`), the format SUSE uses since SLE 15 / Leap 15.

The file starts with a slot area: a 32-byte header (magic `RpmP`, version, generation, number of slot
pages), then 16-byte slots (magic `Slot`, package index, block offset, block count); a slot with index
0 is free. Each used slot points at a blob in 16-byte blocks: magic `BlbS`, package index, a checksum
and the blob's length, then the header blob. All little-endian. Slots, blocks and lengths are checked
against the file before use; a blob whose index or magic disagree with its slot is an error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from gates.errors import InputError

_HEADER = struct.Struct("<IIII16x")
_SLOT = struct.Struct("<IIII")
_BLOB = struct.Struct("<IIII")
_DB_MAGIC = int.from_bytes(b"RpmP", "little")
_SLOT_MAGIC = int.from_bytes(b"Slot", "little")
_BLOB_MAGIC = int.from_bytes(b"BlbS", "little")
PAGE_SIZE = 4096
BLOCK_SIZE = 16


class NdbError(InputError):
    """The file is not a readable NDB database; the message names the slot."""


def ndb_blobs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(package index, header blob) for every used slot, in slot order."""
    if len(data) < _HEADER.size:
        raise NdbError(f"{len(data)} bytes, too short for an NDB header")
    magic, version, _generation, slot_pages = _HEADER.unpack_from(data, 0)
    if magic != _DB_MAGIC:
        raise NdbError("not an rpm NDB database (no RpmP magic)")
    if version != 0:
        raise NdbError(f"NDB version {version}; only version 0 is known")
    if slot_pages < 1 or slot_pages * PAGE_SIZE > len(data):
        raise NdbError(f"claims {slot_pages} slot pages, but the file has {len(data)} bytes")
    slots: dict[int, int] = {}  # package index -> its slot: one each, so no blob is read for many slots
    for number, offset in enumerate(range(_HEADER.size, slot_pages * PAGE_SIZE, _SLOT.size), start=1):
        slot_magic, index, block, blocks = _SLOT.unpack_from(data, offset)
        if slot_magic != _SLOT_MAGIC:
            raise NdbError(f"slot {number}: no Slot magic")
        if index == 0:
            continue
        if index in slots:
            raise NdbError(f"slot {number} (package {index}): the package already has slot {slots[index]}")
        slots[index] = number
        start, end = block * BLOCK_SIZE, (block + blocks) * BLOCK_SIZE
        if block == 0 or blocks == 0 or end > len(data) or start < slot_pages * PAGE_SIZE:
            raise NdbError(f"slot {number} (package {index}): blocks {block}+{blocks} lie outside the blob area")
        blob_magic, blob_index, _checksum, length = _BLOB.unpack_from(data, start)
        if blob_magic != _BLOB_MAGIC or blob_index != index:
            raise NdbError(f"slot {number} (package {index}): block {block} holds no blob of that package")
        if start + _BLOB.size + length > end:
            raise NdbError(f"slot {number} (package {index}): blob of {length} bytes overruns its {blocks} blocks")
        yield index, data[start + _BLOB.size : start + _BLOB.size + length]
