""""Did you mean": the nearest known names to a word a user mistyped (a rule, a format, a key)."""

from __future__ import annotations

from collections.abc import Iterable


def close_names(word: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` known names close to `word`, best first (compared in lower case, as names are)."""
    import difflib  # only on a mistake: a clean run never pays for it

    return difflib.get_close_matches(word.lower(), list(known), n=n, cutoff=0.6)


def did_you_mean(word: str, known: Iterable[str], otherwise: str = "") -> str:
    """` (did you mean a, b?)` for the names close to `word`; `otherwise` when none is."""
    close = close_names(word, known)
    return f" (did you mean {', '.join(close)}?)" if close else otherwise
