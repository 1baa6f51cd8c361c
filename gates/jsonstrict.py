"""JSON that means one thing to every reader: an object naming a key twice is refused, never resolved.

Readers disagree on such a document (Python keeps the last value, others the first), so a signed or
claimed document with a repeated key could be verified by one reading and acted on by another.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object names a key twice."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` refusing a repeated key (the key is shown quoted and cut short)."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise DuplicateKeyError(f"key {json.dumps(key)[:80]} appears twice")
        doc[key] = value
    return doc


def loads(data: bytes | str) -> Any:
    """`json.loads` with repeated keys refused (`DuplicateKeyError`, a `ValueError`)."""
    return json.loads(data, object_pairs_hook=unique_keys)
