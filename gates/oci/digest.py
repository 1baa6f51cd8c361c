"""Content digests (`sha256:<hex>`, `sha512:<hex>`), parsed strictly and computed by us, never trusted."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from gates.oci.errors import InvalidReferenceError

_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True, order=True)
class Digest:
    """A validated digest; `str()` gives the canonical `algorithm:hex` form."""

    algorithm: str
    """`sha256` or `sha512`: the algorithms the OCI spec registers."""
    hex: str
    """Lowercase hex of the expected length for the algorithm."""

    def __post_init__(self) -> None:
        want = _HEX_LENGTHS.get(self.algorithm)
        if want is None:
            raise InvalidReferenceError(f"unsupported digest algorithm {self.algorithm!r}")
        if len(self.hex) != want or not re.fullmatch(r"[0-9a-f]+", self.hex):
            raise InvalidReferenceError(
                f"invalid {self.algorithm} digest: expected {want} lowercase hex characters"
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse `algorithm:hex`; raises `InvalidReferenceError` with a one-line reason."""
        match = _DIGEST_RE.match(text)
        if match is None:
            raise InvalidReferenceError(f"invalid digest {text[:80]!r}: expected algorithm:hex")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of `data`, computed here."""
        hasher = new_hasher(algorithm)
        hasher.update(data)
        return cls(algorithm, hasher.hexdigest())

    def hasher(self) -> _Hasher:
        """A fresh hash object of this digest's algorithm, for streaming verification."""
        return new_hasher(self.algorithm)

    def matches(self, data: bytes) -> bool:
        """Whether `data` hashes to this digest."""
        return Digest.of(data, self.algorithm) == self

    @property
    def tag_form(self) -> str:
        """`sha256-<hex>`: the tag cosign and the referrers tag schema derive from a digest."""
        return f"{self.algorithm}-{self.hex}"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def new_hasher(algorithm: str) -> _Hasher:
    """A hash object for a supported digest algorithm."""
    if algorithm not in _HEX_LENGTHS:
        raise InvalidReferenceError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)
