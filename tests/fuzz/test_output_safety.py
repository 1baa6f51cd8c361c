"""Property: whatever untrusted text says, no output format carries a raw control character, a line the
GitHub runner would run as a workflow command, invalid XML or JSON, or a Markdown link, image or HTML.

Random strings are drawn from control, bidi and separator characters, surrogates, workflow-command
syntax (`::`, `##[`, `%`), `]]>`, Markdown and HTML, and any other character. They are placed in
manifest fields (resource, container and image names, keys) and file names (bytes, so not always
UTF-8) for a real scan, and directly in the fields of a Report for what only images and registries
produce (image config fields, registry error bodies, certificate fields: details and error lines).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.checks import all_rules
from gates.checks.manifests.gate import ManifestOptions, scan
from gates.engine import GateJob, run
from gates.model import Finding, Location, Outcome, Report, Result, Severity, Waiver, blocks, error_result
from gates.reporters import Format, RenderContext, renderer
from gates.reporters.github import auto_emit, fence_commands, summary
from tests.reporters.output_checks import (
    PAYLOADS,
    assert_no_raw_controls,
    assert_no_workflow_command,
    assert_safe_markdown,
    assert_valid_json,
    assert_valid_junit,
    quoted,
)
from tests.reporters.workflow_commands import processed_commands

EXAMPLES = int(os.environ.get("GATES_FUZZ_EXAMPLES", "60"))
"""Examples per property; each renders every format, so fewer than tests/fuzz/test_properties.py."""
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_SYNTAX = ("::", "##[", "]", "%", "%0A", "]]>", "`", "``", "|", "[x](y)", "![i](u)", "<script>", "&#x1b;", "\\",
           "\n", "\r", "  ", "\u00a0", ",", "=")
_fragment = st.one_of(
    st.sampled_from(PAYLOADS),
    st.sampled_from(_SYNTAX),
    st.text(st.characters(exclude_categories=()), max_size=6),  # any code point, surrogates included
    st.text(st.characters(categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=3),
)
untrusted = st.lists(_fragment, max_size=5).map("".join)
"""A string an attacker wrote."""
yaml_text = untrusted.map(lambda s: "".join(c for c in s if not 0xD800 <= ord(c) <= 0xDFFF))
"""What a manifest can carry: YAML has no way to write a surrogate."""
file_name = st.binary(min_size=1, max_size=24).map(
    lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_")) | untrusted.map(
    lambda s: s.replace("/", "_").replace("\x00", "_").encode("utf-8", "surrogatepass") or b"x")
"""A file name's bytes: random (often not UTF-8) or an untrusted string."""


def _context(root: Path) -> RenderContext:
    return RenderContext(root=root, version="9.9.9", rules=all_rules())


def _expected_annotations(report: Report) -> int:
    active = [f for r in report.results for f in r.active_findings]
    return len(active) + sum(1 for r in report.results if r.outcome is Outcome.ERROR)


def assert_safe_everywhere(report: Report, root: Path) -> None:
    """Every format (and the job summary, and the Actions log) of `report` is valid and inert."""
    context = _context(root)
    for fmt in Format:
        text = renderer(fmt)(report, context)
        assert_no_raw_controls(text, fmt.value)
        if fmt in (Format.JSON, Format.SARIF, Format.GITLAB):
            assert_valid_json(text, fmt.value)
        elif fmt is Format.JUNIT:
            assert_valid_junit(text, fmt.value)
        if fmt is Format.GITHUB:
            commands = processed_commands(text)
            assert len(commands) == len(text.splitlines()) == _expected_annotations(report)
            assert {c.name for c in commands} <= {"error", "warning"}
        else:
            assert_no_workflow_command(text, fmt.value)
    markdown = summary(report, context)
    assert_no_raw_controls(markdown, "summary")
    assert_safe_markdown(markdown, "summary")
    log, err = io.StringIO(), io.StringIO()
    log.write(fence_commands(renderer(Format.CONSOLE)(report, context)))
    auto_emit(report, context, ("console",), log, err, {"GITHUB_ACTIONS": "true"})
    acted = processed_commands(log.getvalue())
    assert len(acted) == _expected_annotations(report) and err.getvalue() == ""


def _report(texts: list[str], report_line: int) -> Report:
    """A report with untrusted text in every field a reporter reads."""
    path, target, message, resource, container, reason, source, note, detail, error, body, problem = texts
    finding = Finding("pss-privileged", Severity.HIGH, message, Location(path, report_line, 2), resource=resource,
                      container=container, notes=(note,))
    waived = Finding("k8s-image-digest", Severity.LOW, message, Location(path), resource=resource,
                     waiver=Waiver(reason, source))
    advisory = Finding("base-image-age", Severity.LOW, detail, Location(target), resource=target)
    return Report(
        results=(
            Result("manifests", target, Outcome.FAILED, (finding, waived), location=Location(path, 1, 1),
                   details=(detail,)),
            Result("base-image", target, Outcome.PASSED, (advisory,), details=(detail, body)),
            error_result("signature", target, f"registry answered 401: {body}", Location(target)),
            error_result("manifests", path, error, Location(path)),
            Result("manifests", path, Outcome.SKIPPED, error=error, location=Location(path)),
        ),
        gates=("manifests", "base-image", "signature"),
        fail_on=Severity.MEDIUM,
        internal_errors=(problem, f"manifests: Traceback\n  {problem}\nValueError: {problem}"),
    )


@PROPERTY
@given(texts=st.lists(untrusted, min_size=12, max_size=12), line=st.integers(min_value=1, max_value=10**6))
def test_any_report_renders_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, texts: list[str],
                                   line: int) -> None:
    monkeypatch.chdir(tmp_path)
    report = _report(texts, line)
    assert any(blocks(f, report.fail_on) for r in report.results for f in r.findings)
    assert_safe_everywhere(report, tmp_path)


def _pod(name: str, namespace: str, container: str, image: str, key: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {key: value},
                         "annotations": {f"gates.dev/waive.{key}": value}},
            "spec": {"containers": [{"name": container, "image": image, "securityContext": {"privileged": True}}]}}


@PROPERTY
@given(fields=st.lists(yaml_text, min_size=6, max_size=6), names=st.lists(file_name, min_size=2, max_size=2))
def test_any_scanned_tree_renders_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: list[str],
                                         names: list[bytes]) -> None:
    name, namespace, container, image, key, value = fields
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    monkeypatch.chdir(root)
    folder = os.fsencode(root / "k8s")
    os.mkdir(folder)
    documents = (quoted(_pod(name, namespace, container, image, key, value)),
                 f'{{"apiVersion": "v1", "kind": "Pod", "metadata": {{{quoted(key)}: 1, {quoted(key)}: 2}}}}')
    for index, (file, text) in enumerate(zip(names, documents, strict=True)):
        with open(os.path.join(folder, b"%d-" % index + file + b".json"), "wb") as handle:
            handle.write(text.encode("ascii"))
    options = ManifestOptions(paths=("k8s",))
    report = run([GateJob("manifests", lambda: scan(options))])
    assert not report.internal_errors
    assert len({r.location.path for r in report.results if r.location}) == 2  # both files were read and reported
    assert_safe_everywhere(report, root)
