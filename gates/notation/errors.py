"""The errors of the notation library; each message is one line a user can act on."""

from __future__ import annotations


class NotationError(Exception):
    """Base of every error this library raises."""


class EnvelopeError(NotationError):
    """A signature envelope that does not parse or breaks the specification (an integrity failure)."""


class TrustPolicyError(NotationError):
    """A trust policy document that does not parse, or is invalid or ambiguous (a configuration error)."""


class TrustStoreError(NotationError):
    """A trust store that is missing, unreadable or holds something other than usable certificates."""


def shown(value: object, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters: envelope and certificate fields are written by strangers."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"
