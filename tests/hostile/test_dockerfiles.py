"""Broken Dockerfiles given to `gates base-image --dockerfile`: every image of the run is an `error` with one
line naming the Dockerfile, its line and the problem, never a pass; no traceback; bounded time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import run_process
from tests.hostile.conftest import HostileWorld
from tests.hostile.images import NOW

TIMEOUT = 60.0

BROKEN: dict[str, tuple[bytes, str]] = {
    "no-from": (b"RUN echo hello\n", "RUN before the first FROM"),
    "empty": (b"", "no FROM instruction"),
    "only-comments": (b"# syntax=docker/dockerfile:1\n# nothing\n", "no FROM instruction"),
    "from-without-image": (b"FROM\n", "FROM"),
    "from-too-many-words": (b"FROM debian:12 AS a b c\n", "FROM expects 'IMAGE [AS NAME]'"),
    "unknown-flag": (b"FROM --plat=linux/amd64 debian:12\n", "unknown or empty FROM flag"),
    "bad-stage-name": (b"FROM debian:12 AS 9$$\n", "invalid stage name"),
    "unset-arg": (b"FROM ${BASE}\n", "resolves to an empty image name"),
    "unterminated-substitution": (b"ARG BASE=debian\nFROM ${BASE\n", "FROM"),
    "bad-arg": (b"ARG\nFROM debian:12\n", "ARG needs a name"),
    "bad-arg-name": (b"ARG 1x=2\nFROM debian:12\n", "invalid ARG name"),
    "invalid-reference": (b"FROM Not/A:Valid::Ref\n", "is not a valid image reference"),
    "bad-escape": (b"# escape=x\nFROM debian:12\n", "escape directive must be"),
    "binary": (b"\x1b[2J\x07" + os.urandom(512).replace(b"\n", b" ") + b"\n", "before the first FROM"),
    "latin1": ("FROM debian:12\nLABEL author=Jos\u00e9\nFROM caf\u00e9:1\n".encode("latin-1"),
               "is not a valid image reference"),
    "huge-continuation": (b"FROM debian:12 \\\n" + b"  AS x \\\n" * 100_000 + b"\n", "FROM expects"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_dockerfile_is_an_error_for_each_image_never_a_pass(tmp_path: Path, hostile: HostileWorld,
                                                                   name: str) -> None:
    content, expect = BROKEN[name]
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_bytes(content)
    env = {"GATES_CACHE_DIR": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    started = time.monotonic()
    run = run_process(["base-image", hostile.good_image, "--dockerfile", "Dockerfile", "--now", NOW,
                       "--format", "json"], cwd=tmp_path, env=env, timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT
    assert "Traceback" not in run.err + run.out and "internal error" not in run.err, run.err
    if run.code == 2:  # a Dockerfile that cannot even be read is a usage error: nothing was judged
        assert run.out == "" and "Dockerfile" in run.err and len(run.err.strip().splitlines()) == 1, run.err
        return
    assert run.code == 1, run.err
    [result] = json.loads(run.out)["results"]
    assert result["outcome"] == "error", result
    assert result["error"].startswith(f"{hostile.good_image}: Dockerfile"), result["error"]
    assert expect in result["error"] and "\n" not in result["error"], result["error"]
    assert len(result["error"]) < 500 and "\x1b" not in result["error"], result["error"]  # no dump, no escapes
