"""Where the shared corpus lives for base-image tests: skip when absent, fail under CI=true."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_path(*parts: str) -> Path:
    """`$GATES_CORPUS/<parts>` (default ../shared/corpus beside the repository)."""
    root = Path(os.environ.get("GATES_CORPUS", REPO.parent / "shared" / "corpus"))
    path = root.joinpath(*parts)
    if not path.exists():
        message = f"needs the third-party corpus at {path} (set GATES_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": under CI the corpus must be present")
        pytest.skip(message)
    return path


def load_json(*parts: str) -> Any:
    return json.loads(corpus_path(*parts).read_text(encoding="utf-8"))
