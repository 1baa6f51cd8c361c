"""Help as people read it: no braces or angle brackets around metavars, every command's whole first line in
the command list, and one metavar per kind of value (a file is PATH everywhere)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from gates.cli import app
from tests.conftest import run_process

FILE_FLAGS = {"--config", "--dockerfile", "--advisories", "--vex", "--key", "--trusted-root", "--source"}
"""Options whose value is a file or folder."""


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _tree() -> list[tuple[tuple[str, ...], Any]]:
    return list(_commands(typer.main.get_command(app)))


def test_no_braces_or_angle_brackets_in_any_help(tmp_path: Path) -> None:
    for path, _ in _tree():
        text = run_process([*path, "--help"], cwd=tmp_path).out
        usage = text.splitlines()[0]
        assert usage.startswith("Usage: gates") and not re.search(r"[{}<>]", usage), usage
        assert not re.search(r"<[a-z]+>", text), (path, text)


def test_every_value_option_has_an_upper_case_metavar() -> None:
    for path, command in _tree():
        for param in command.params:
            if getattr(param, "is_flag", False) or not param.opts[0].startswith("-") or param.name == "help":
                continue
            flag = max(param.opts, key=len)
            assert param.metavar and re.fullmatch(r"[A-Z]+(=[A-Z]+)?", param.metavar), (path, flag, param.metavar)
            if flag in FILE_FLAGS or (path == ("data", "update") and flag == "--output"):
                assert param.metavar == "PATH", (path, flag, param.metavar)


def test_the_command_list_shows_each_description_whole(tmp_path: Path) -> None:
    text = run_process(["--help"], cwd=tmp_path).out
    listing = " ".join(text.split("Commands:", 1)[1].split())
    assert "..." not in listing
    for (name, *rest), command in _tree()[1:]:
        if rest:
            continue
        first = " ".join((command.short_help or command.help or "").split("\n\n")[0].split())
        assert f"{name} {first}" in listing, (name, first)
