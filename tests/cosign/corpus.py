"""Where the third-party corpus is, for the signature tests (the one helper of tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import corpus_root, require_corpus

__all__ = ["corpus", "corpus_root"]


def corpus(*parts: str) -> Path:
    """A corpus path; the test is skipped when it is missing, and fails instead when CI=true."""
    return require_corpus(*parts)
