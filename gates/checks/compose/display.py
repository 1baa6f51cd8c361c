"""Text from a compose file, fit for a log line: control and invisible characters escaped, bounded."""

from __future__ import annotations

MAX_SHOWN = 120


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` with every non-printable character escaped (`\\x1b`, `\\u202e`) and cut at `limit`."""
    cut = text[:limit]
    cleaned = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in cut)
    return cleaned + ("..." if len(text) > limit else "")
