"""The Dockerfile a pull request commits is read bounded and never waited on: a huge file is an error of
the images built from it, a pipe at its path a usage error; neither is read whole nor blocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gates.checks.base_image.gate import MAX_DOCKERFILE_BYTES, _read_dockerfile
from gates.errors import UsageError


def test_a_huge_dockerfile_is_an_error_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    with path.open("wb") as out:
        out.write(b"FROM alpine:3.20\n")
        out.truncate(MAX_DOCKERFILE_BYTES + 10)
    said = _read_dockerfile(path, "--dockerfile")
    assert isinstance(said, str) and "larger than" in said and "Dockerfile" in said


def test_a_pipe_named_as_the_dockerfile_is_a_usage_error_never_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        _read_dockerfile(fifo, "--dockerfile")


def test_an_ordinary_dockerfile_still_parses(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine:3.20\nUSER 10001\n", encoding="utf-8")
    assert not isinstance(_read_dockerfile(path, "--dockerfile"), str)
