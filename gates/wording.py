"""Counts in words: "1 finding", "2 findings", so no message of gates reads "1 findings"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun in the plural unless there is exactly one (`plural` for irregular ones)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
