"""Where the third-party corpus is, for the signature tests: skip when absent, fail under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_root() -> Path:
    """`$GATES_CORPUS`, or `../shared/corpus` relative to the repository root."""
    configured = os.environ.get("GATES_CORPUS")
    return Path(configured) if configured else (REPO / ".." / "shared" / "corpus").resolve()


def corpus(*parts: str) -> Path:
    """A corpus path; the test is skipped when it is missing, and fails instead when CI=true."""
    path = corpus_root().joinpath(*parts)
    if not path.exists():
        message = f"the third-party corpus is not at {path} (set GATES_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true it is required")
        pytest.skip(message)
    return path
