"""`gates data update -o FILE` writes a data file others may read (the umask decides, 0644 under 022)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.conftest import require_corpus, run_process


def test_data_update_writes_a_readable_file(tmp_path: Path) -> None:
    source = require_corpus("eol", "endoflife.date-products")
    target = tmp_path / "eol.json"
    previous = os.umask(0o022)
    try:
        run = run_process(["data", "update", "--file", "distro-eol.json", "--source", str(source),
                           "--now", "2026-12-01", "-o", str(target)],
                          cwd=tmp_path)
    finally:
        os.umask(previous)
    assert run.code == 0, run.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["eol.json"]  # no temporary file left behind
