"""The `console` examples of docs/ci.md, run as processes in a real git repository: the output shown is
the output gates prints, so the docs cannot drift from it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO

DOC = REPO / "docs" / "ci.md"


def console_examples() -> list[tuple[str, list[str]]]:
    """Each `$ command` of a console block with the lines it prints."""
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```console\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.M | re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return found


def test_the_console_examples_print_what_the_docs_show(tmp_path: Path) -> None:
    require("git")
    examples = console_examples()
    assert [command for command, _ in examples] == ["gates install-hook"]
    env = tool_env()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    old = tmp_path / ".git" / "hooks" / "pre-push"  # the example keeps a hook already there
    old.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    old.chmod(0o755)
    for command, expected in examples:
        proc = subprocess.run(command.split(), cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == expected
