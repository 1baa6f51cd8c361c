"""Every JSON report a test makes is checked against the shipped schema (`gates/schemas/report-v1.json`).

The CLI helpers (`tests/conftest.py`'s `cli` and `run_process`, `tests/core/reports_support.gates`) wrap
each run in `JsonReports`: stdout that is a JSON report, and every `--output json=PATH` file the run
wrote, must validate, so a change to the report that the schema does not describe fails whichever test
first produces it.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from gates.reporters.json_report import SCHEMA, schema_text

jsonschema: Any = importlib.import_module("jsonschema")
"""Imported untyped: the dev dependencies carry no jsonschema stubs."""

_MARK = f'{{"schema":"{SCHEMA}"'
"""How a compact JSON report starts (`gates.reporters.json_report.render`)."""


@functools.cache
def _validator() -> Any:
    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_errors(report: Any) -> list[str]:
    """What in `report` the schema refuses, one line each (empty: valid)."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(_validator().iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))]


def validate_report(text: str, where: str, first_of_many: bool = False) -> Any:
    """`text` parsed, failing the test unless it is a JSON report the schema accepts.

    `first_of_many`: stdout holds the JSON report followed by other formats' output; only the report
    is parsed."""
    try:
        report = json.JSONDecoder().raw_decode(text)[0] if first_of_many else json.loads(text)
    except ValueError as exc:
        pytest.fail(f"{where}: not JSON: {exc}")
    errors = schema_errors(report)
    if errors:
        pytest.fail(f"{where}: the JSON report does not match gates/schemas/report-v1.json:\n  "
                    + "\n  ".join(errors[:20]))
    return report


def _flag_values(args: Sequence[str], short: str, long: str) -> list[str]:
    values: list[str] = []
    items = list(args)
    for index, arg in enumerate(items):
        if arg == "--":
            break
        if arg in (short, long) and index + 1 < len(items):
            values.append(items[index + 1])
        elif arg.startswith(long + "="):
            values.append(arg[len(long) + 1:])
    return values


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


class JsonReports:
    """Taken before a run; `check` after it validates what the run wrote as a JSON report."""

    def __init__(self, args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
        environment = os.environ if env is None else env
        formats = _flag_values(args, "-f", "--format")
        if not formats and environment.get("GATES_FORMAT"):
            formats = [f.strip() for f in environment["GATES_FORMAT"].split(",") if f.strip()]
        self.stdout_is_json = bool(formats) and set(formats) == {"json"}
        self.stdout_shared = len(set(formats)) > 1
        outputs = [spec.partition("=")[2] for spec in _flag_values(args, "-o", "--output")
                   if spec.startswith("json=")]
        self.files = {cwd / target: _stamp(cwd / target) for target in outputs if target}

    def check(self, code: int, out: str) -> None:
        if out.startswith(_MARK) or (self.stdout_is_json and out and code in (0, 1, 3)):
            validate_report(out, "stdout", first_of_many=self.stdout_shared)
        for path, before in self.files.items():
            after = _stamp(path)
            if after is not None and after != before and path.is_file():
                validate_report(path.read_text(encoding="utf-8"), str(path))
