"""GitHub Actions: workflow-command annotations and a Markdown job summary.

`render` (format `github`) prints one `::error`/`::warning` command per blocking or advisory finding
and per undecided target, escaped the way the runner unescapes them, so a message can neither break
the line nor smuggle in a second command. The runner shows only 10 annotations of each level per
step, so `summary` renders a Markdown summary listing every finding, kept under the 1 MiB the
runner accepts for `$GITHUB_STEP_SUMMARY`, with scanned text only inside code spans (no link, image
or HTML of a manifest renders). `auto_emit` does both when running under Actions, and
`fence_commands` wraps the console report in `::stop-commands::` so nothing in it acts as a command.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from gates.model import Finding, Location, Outcome, Report, Result, blocks
from gates.reporters import RenderContext
from gates.reporters.sarif import forget_paths, repo_path
from gates.text import clean_once
from gates.validators import switch
from gates.wording import counted

SUMMARY_LIMIT = 1024 * 1024
"""The runner refuses a step summary larger than this many bytes (it then shows none at all)."""
_MARGIN = 4096

_ICON = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.ERROR: "⚠️", Outcome.SKIPPED: "⏭️"}


def escape_data(text: str) -> str:
    """Escape a command's message as the runner expects (`%`, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value: the message escapes plus `:` and `,`, which delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, location: Location | None, title: str, root: Path) -> str:
    """One workflow command line, e.g. `::error file=k8s/a.yaml,line=3,col=5,title=...::message`."""
    props: list[str] = []
    path = repo_path(location.path, root) if location else None
    if path is not None and location is not None:
        props.append(f"file={escape_property(path)}")
        if location.line:
            props.append(f"line={location.line}")
            if location.column:
                props.append(f"col={location.column}")
    props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def _finding_message(finding: Finding, with_location: bool) -> str:
    text = finding.message
    if finding.resource:
        text += f" [{finding.resource}]"
    if with_location:
        text = f"{finding.location}: {text}"
    for note in finding.notes:
        text += f" ({note})"
    return text


def render(report: Report, context: RenderContext) -> str:
    """Annotations: errors for blocking findings and undecided targets, warnings for advisory ones
    (baselined findings, like waived ones, only in the job summary).

    The runner shows only the first 10 of each level, so the order is what a reader needs first:
    blocking findings by severity (critical first), then undecided targets, then advisory findings by
    severity; findings of one severity keep the order of the report (file order).
    """
    forget_paths()
    active = [f for r in report.results for f in r.active_findings if not f.baselined]  # a backlog is no news
    blocking = sorted((f for f in active if blocks(f, report.fail_on)), key=_severity_key)
    advisory = sorted((f for f in active if not blocks(f, report.fail_on)), key=_severity_key)
    lines = [_finding_annotation("error", f, context) for f in blocking]
    for result in report.results:
        if result.outcome is Outcome.ERROR:
            title = f"gates {result.gate}: could not decide {result.target}"
            lines.append(annotation("error", result.error or "unknown error", result.location, title, context.root))
    lines += [_finding_annotation("warning", f, context) for f in advisory]
    return "".join(line + "\n" for line in lines)


def _finding_annotation(level: str, finding: Finding, context: RenderContext) -> str:
    """The title names the rule and its severity, the two things a reader of a long list sorts by."""
    rule = context.rules.get(finding.rule)
    title = f"{finding.rule} ({finding.severity.value})" + (f": {rule.title}" if rule else "")
    in_file = repo_path(finding.location.path, context.root) is not None
    return annotation(level, _finding_message(finding, not in_file), finding.location, title, context.root)


def _shorten(text: str, limit: int | None) -> str:
    text = " ".join(text.split())
    return text[: limit - 1] + "…" if limit is not None and len(text) > limit else text


def code(text: str, limit: int | None = None) -> str:
    """Untrusted text as a Markdown code span that is safe inside a table cell.

    A code span shows its content literally: no link, image, autolink, emphasis or HTML can come out
    of it. Whitespace runs become one space (a cell is one line); the fence is one backtick longer than
    the longest run inside; pipes are escaped as GitHub's tables require even within code; empty text
    is an empty cell.
    """
    text = _shorten(text, limit).replace("|", "\\|")
    if not text:
        return ""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "  # CommonMark strips one space from each side, so a backtick can touch the fence
    return f"{fence}{text}{fence}"


def _status(finding: Finding, report: Report, limit: int | None) -> str:
    if finding.waiver is not None:
        until = f" until {finding.waiver.expires}" if finding.waiver.expires else ""
        return f"waived{until}: {code(finding.waiver.reason, limit)}"
    if finding.baselined and finding.baseline is not None:
        return f"baselined since {finding.baseline.since}"
    return "blocking" if blocks(finding, report.fail_on) else f"advisory (below {report.fail_on.value})"


def _finding_row(finding: Finding, report: Report, compact: bool) -> str:
    limit = 120 if compact else None
    cells = [finding.severity.value, code(finding.rule), code(str(finding.location)),
             code(finding.resource or "", limit),
             code(" ".join([finding.message, *(f"({n})" for n in finding.notes)]), limit),
             _status(finding, report, 80 if compact else None)]
    return "| " + " | ".join(cells) + " |"


def _head(report: Report, context: RenderContext) -> list[str]:
    counts = report.counts()
    findings = [f for r in report.results for f in r.findings]
    outcome = report.outcome
    lines = [f"## {_ICON[outcome]} gates: {outcome.value}", ""]
    lines.append(f"Gates: {', '.join(report.gates) or 'none'} · fail on {report.fail_on.value} and above ·"
                 f" gates {context.version}")
    lines += ["", "| passed | failed | could not decide | skipped | findings | blocking | waived |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
              f"| {counts['passed']} | {counts['failed']} | {counts['error']} | {counts['skipped']} |"
              f" {len(findings)} | {sum(1 for f in findings if blocks(f, report.fail_on))} |"
              f" {sum(1 for f in findings if f.waiver is not None)} |", ""]
    return lines


def _undecided(results: list[Result], compact: bool) -> list[str]:
    if not results:
        return []
    lines = ["### Could not decide", "", "| gate | target | why |", "| --- | --- | --- |"]
    limit = 200 if compact else None
    lines += [f"| {code(r.gate)} | {code(r.target, limit)} | {code(r.error or '', limit)} |" for r in results]
    return [*lines, ""]


def _severity_key(finding: Finding) -> int:
    return -finding.severity.rank


def summary(report: Report, context: RenderContext, limit: int = SUMMARY_LIMIT) -> str:
    """Markdown listing every finding, at most `limit` bytes (UTF-8).

    Long cells are shortened first; only if even that does not fit are the last rows replaced by a
    line saying how many were left out (tens of thousands of findings), never a broken file. Text
    from scanned content only ever appears inside code spans.
    """
    report = clean_once(report)
    findings = sorted((f for r in report.results for f in r.findings),
                      key=lambda f: (f.waiver is not None, not blocks(f, report.fail_on), _severity_key(f)))
    undecided = [r for r in report.results if r.outcome is Outcome.ERROR]
    skipped = [r for r in report.results if r.outcome is Outcome.SKIPPED]
    text = ""
    for compact in (False, True):
        text = _summary_text(report, context, findings, undecided, skipped, compact, None)
        if len(text.encode("utf-8")) <= limit:
            return text
    return _summary_text(report, context, findings, undecided, skipped, True, limit)


def _summary_text(report: Report, context: RenderContext, findings: list[Finding], undecided: list[Result],
                  skipped: list[Result], compact: bool, limit: int | None) -> str:
    head = _head(report, context) + _undecided(undecided, compact)
    table: list[str] = []
    if findings:
        table = ["### Findings", "", "| severity | rule | location | resource | message | status |",
                 "| --- | --- | --- | --- | --- | --- |"]
        table += [_finding_row(f, report, compact) for f in findings]
        table.append("")
    tail: list[str] = []
    if skipped:
        tail = ["### Skipped", ""] + [f"- {code(r.target, 200)}: {code(r.error or '', 300)}" for r in skipped]
        tail.append("")
    if report.internal_errors:
        tail += ["### Internal errors", ""]
        tail += [f"- {code((p.splitlines() or [''])[0], 300)}" for p in report.internal_errors] + [""]
    if limit is None:
        return "\n".join(head + table + tail) + "\n"
    # Fill rows until the budget (less room for the closing note) is spent.
    budget = limit - len(("\n".join(head + tail) + "\n").encode("utf-8")) - 200
    kept: list[str] = []
    used = 0
    for row in table:
        size = len(row.encode("utf-8")) + 1
        if used + size > budget:
            break
        kept.append(row)
        used += size
    left_out = sum(1 for row in table[len(kept):] if row.startswith("| ") and not row.startswith("| ---"))
    if left_out:
        kept += ["", f"_{counted(left_out, 'more finding')} did not fit in the job summary: see the SARIF,"
                     " JUnit or JSON report._", ""]
    return "\n".join(head + kept + tail) + "\n"


def fence_commands(text: str) -> str:
    """`text` between `::stop-commands::TOKEN` and `::TOKEN::`, so the runner reads no command in it.

    The token is fresh and random for every call: text inside cannot guess it to resume early.
    """
    token = secrets.token_hex(16)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


_TEXT_FORMATS = ("console", "github")
"""Formats that can share stdout with annotations; anything else is a document that must stay clean."""


def auto_emit(report: Report, context: RenderContext, formats: tuple[str, ...], stdout: TextIO,
              stderr: TextIO, environ: Mapping[str, str] | None = None) -> None:
    """Under GitHub Actions (`GITHUB_ACTIONS=true`): annotate, and append the job summary.

    Paths are made relative to `GITHUB_WORKSPACE`, which is what the runner resolves annotation files
    against. Annotations are skipped when `--format github` already printed them, and go to stderr
    (the runner reads commands from both streams) when stdout carries a JSON, SARIF or XML document.
    `GATES_GITHUB=false` turns the whole behaviour off, e.g. for a wrapper calling gates many times.
    """
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") != "true" or (env.get("GATES_GITHUB") and not switch(env["GATES_GITHUB"], "")):
        return
    report = clean_once(report)
    workspace = env.get("GITHUB_WORKSPACE")
    ctx = dataclasses.replace(context, root=Path(workspace)) if workspace else context
    if "github" not in formats:
        stream = stdout if all(f in _TEXT_FORMATS for f in formats) else stderr
        stream.write(render(report, ctx))
        stream.flush()
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    path = Path(target)
    try:
        existing = path.stat().st_size if path.exists() else 0
        budget = SUMMARY_LIMIT - existing - _MARGIN
        if budget < 1024:
            print("::warning title=gates::the job summary is full; see the reports instead", file=stderr)
            return
        with path.open("a", encoding="utf-8") as handle:
            handle.write(summary(report, ctx, budget))
    except OSError as exc:
        print(f"::warning title=gates::cannot write the job summary: {escape_data(str(exc))}", file=stderr)
