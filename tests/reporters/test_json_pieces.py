"""The JSON report is rendered in pieces (one per result) so a large run never holds it as one string:
the pieces must join to exactly what one `json.dumps` of the whole report wrote, escapes included."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gates.model import (
    BaselineEntry,
    BaselineMark,
    Finding,
    Location,
    Outcome,
    Report,
    Result,
    Severity,
    ShardStamp,
    Waiver,
    error_result,
)
from gates.reporters import Format, pieces_renderer, renderer
from gates.reporters.json_report import as_dict, render_pieces
from gates.text import block_commands, clean
from tests.reporters.conftest import context, hand_report


def _many_results(count: int) -> tuple[Result, ...]:
    """Results of every shape, with text that must be escaped: non-ASCII, controls, commands, quotes."""
    results: list[Result] = []
    for index in range(count):
        where = Location(f"k8s/app-{index}.yaml", index + 1, 3)
        findings = tuple(
            Finding("pss-privileged", Severity.HIGH, f'"quoted" ::error::x{n} ##[warning]y ##vso[task] \u00e9\u202e',
                    where, resource=f"Deployment/prod/web-{index}", container="app\x1b[31m",
                    waiver=Waiver("ticket 1", "gates.toml", dt.date(2031, 1, 1)) if n == 1 else None,
                    notes=("a note",) if n == 2 else (),
                    baseline=BaselineMark("unchanged", f"fp{index}", dt.date(2030, 1, 1)) if n == 0 else None)
            for n in range(index % 4))
        if index % 7 == 3:
            results.append(error_result("manifests", f"k8s/bad-{index}.yaml", "line 1: ::error:: invalid", where))
        else:
            outcome = Outcome.FAILED if findings else Outcome.PASSED
            results.append(Result("manifests", f"k8s/app-{index}.yaml#Pod/x", outcome, findings, location=where,
                                  details=("##[group]detail",)))
    return tuple(results)


def _reports(root: Path) -> list[Report]:
    when = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    many = Report(results=_many_results(400), gates=("manifests",), fail_on=Severity.HIGH, generated=when,
                  internal_errors=("manifests: boom\n  ::error::trace",))
    extra = Report(results=_many_results(20), gates=("manifests",), generated=when,
                   shard=ShardStamp(1, 3, "sha256:ab"),
                   baseline_absent=(BaselineEntry("fp", dt.date(2030, 1, 2), "manifests", "r", "Pod/x"),))
    empty = Report(results=(), gates=(), generated=when)
    return [hand_report(root), many, extra, empty]


def _one_shot(report: Report, root: Path) -> str:
    """The JSON report as one `json.dumps` of the whole cleaned report wrote it, before it came in pieces."""
    text = json.dumps(as_dict(clean(report), context(root)), separators=(",", ":")) + "\n"
    return block_commands(text, "\\u003a", "\\u005b")


@pytest.mark.parametrize("which", range(4))
def test_the_pieces_join_to_the_one_shot_report(tmp_path: Path, which: int) -> None:
    report = _reports(tmp_path)[which]
    pieces = pieces_renderer(Format.JSON)(report, context(tmp_path))
    assert "".join(pieces) == _one_shot(report, tmp_path) == renderer(Format.JSON)(report, context(tmp_path))
    assert len(pieces) == len(report.results) + 2
    assert json.loads("".join(pieces)) == json.loads(json.dumps(as_dict(clean(report), context(tmp_path))))


def test_every_piece_starts_where_no_command_can_span_or_begin(tmp_path: Path) -> None:
    report = clean(_reports(tmp_path)[1])
    pieces = render_pieces(report, context(tmp_path))
    assert all(piece[0] in "{,]" for piece in pieces)
    assert "\n" not in "".join(pieces)[:-1]
    escaped = [block_commands(piece, "\\u003a", "\\u005b") for piece in pieces]
    assert "".join(escaped) == block_commands("".join(pieces), "\\u003a", "\\u005b")
    assert "##[" not in "".join(escaped)
