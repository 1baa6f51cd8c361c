"""Where the shared corpus lives for base-image tests: skip when absent, fail under CI=true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import REPO, require_corpus

__all__ = ["REPO", "corpus_path", "load_json"]


def corpus_path(*parts: str) -> Path:
    """`$GATES_CORPUS/<parts>` (default ../shared/corpus beside the repository); skip or fail as CI says."""
    return require_corpus(*parts)


def load_json(*parts: str) -> Any:
    return json.loads(corpus_path(*parts).read_text(encoding="utf-8"))
