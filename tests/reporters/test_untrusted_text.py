"""Hostile names and values, through the CLI as a process: every format is written, valid and inert.

The scanned tree holds a file name that is not UTF-8 (created from bytes), names that would start a
workflow command at the start of a console line, and a manifest whose resource, container, image and
keys carry terminal escapes, bidi overrides, workflow commands, Markdown and HTML (see PAYLOADS).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.reporters.output_checks import (
    PAYLOADS,
    assert_no_raw_controls,
    assert_no_workflow_command,
    assert_safe_markdown,
    assert_valid_json,
    assert_valid_junit,
    quoted,
)
from tests.reporters.workflow_commands import parse_line, processed_commands

HOSTILE = "".join(p for p in PAYLOADS if not any(0xD800 <= ord(c) <= 0xDFFF for c in p))
"""Every payload a manifest can carry: YAML (libyaml) refuses surrogates, even as JSON escapes."""
NON_UTF8_NAME = b"bad\xff\xfe name\x1b[2J.yaml"
SHOWN_NON_UTF8 = r"bad\xff\xfe name\x1b[2J.yaml"
"""How every format shows NON_UTF8_NAME: the undecodable bytes and the escape as escapes."""

DOCUMENTS = {"json": "gates.json", "junit": "gates.xml", "sarif": "gates.sarif",
             "gitlab-codequality": "gl-code-quality.json", "github": "annotations.txt", "openmetrics": "gates.om"}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_gates(args: Sequence[str | bytes], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """`python -m gates` as a process; its output must be UTF-8 (a decoding error fails the test)."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GATES_", "GITHUB_")) or k == "GATES_CORPUS"}
    environment.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO), "LC_ALL": "C.UTF-8"}, **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "gates", *args], cwd=cwd, capture_output=True, env=environment,
                          timeout=120, check=False)
    return Run(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def hostile_pod(name: str) -> dict[str, Any]:
    """A Pod failing several rules, with untrusted text in every field that reaches a message."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns" + PAYLOADS[0],
                     "annotations": {"gates.dev/waive.pss-privileged" + PAYLOADS[10]: "x"}},
        "spec": {"containers": [{"name": "c" + HOSTILE, "image": "nginx:" + PAYLOADS[13] + PAYLOADS[20],
                                 "securityContext": {"privileged": True}}]},
    }


def manifest(document: dict[str, Any]) -> bytes:
    return quoted(document).encode("ascii")


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "k8s").mkdir(parents=True)  # a file named ::error:: at the top: its findings start console lines
    # JSON escapes carry every control character into the parsed values.
    pod = manifest(hostile_pod("web" + HOSTILE))
    with open(os.path.join(os.fsencode(root / "k8s"), NON_UTF8_NAME), "wb") as handle:
        handle.write(pod)
    folder = os.path.join(os.fsencode(root / "k8s"), b"dir\x80\xc3")  # a folder the walk enters
    os.mkdir(folder)
    with open(os.path.join(folder, b"pod.json"), "wb") as handle:
        handle.write(manifest(hostile_pod("in-folder")))
    (root / "::error::named.json").write_bytes(manifest(hostile_pod("plain")))
    (root / "k8s" / "##[warning]named.json").write_bytes(manifest(hostile_pod("plain2")))
    key = quoted({"k" + HOSTILE: 1})[1:-1]
    (root / "k8s" / "dup.json").write_text(
        f'{{"apiVersion": "v1", "kind": "Pod", "metadata": {{{key}, {key}}}}}', encoding="utf-8")
    return root


def _annotations_expected(report: dict[str, Any]) -> int:
    findings = [f for r in report["results"] for f in r["findings"] if f["waived"] is None]
    return len(findings) + sum(1 for r in report["results"] if r["outcome"] == "error")


def test_every_format_is_written_valid_and_inert(hostile_tree: Path) -> None:
    outputs = [arg for fmt, name in DOCUMENTS.items() for arg in ("--output", f"{fmt}=out/{name}")]
    summary = hostile_tree / "step-summary.md"
    run = run_gates(["manifests", "k8s", "::error::named.json", "--format", "console", *outputs], hostile_tree,
                    env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                         "GITHUB_WORKSPACE": str(hostile_tree)})
    assert run.code == 1, run.err  # failed and undecided, not an internal error (it was exit 3)
    assert "internal error" not in run.err and "Traceback" not in run.err

    documents = {fmt: (hostile_tree / "out" / name).read_text(encoding="utf-8") for fmt, name in DOCUMENTS.items()}
    report = assert_valid_json(documents["json"], "json")
    targets = [r["target"] for r in report["results"]]
    assert any(t.startswith(f"k8s/{SHOWN_NON_UTF8}#Pod/") for t in targets), targets
    assert any(t == "k8s/dup.json" for t in targets)
    assert any(t.startswith("k8s/dir\\x80\\xc3/pod.json#Pod/") for t in targets), targets
    assert_valid_json(documents["sarif"], "sarif")
    assert_valid_json(documents["gitlab-codequality"], "gitlab-codequality")
    junit = assert_valid_junit(documents["junit"], "junit")
    assert any(SHOWN_NON_UTF8 in (case.get("name") or "") for case in junit.iter("testcase"))
    for fmt, text in documents.items():
        assert_no_raw_controls(text, fmt)
        if fmt != "github":
            assert_no_workflow_command(text, fmt)  # as if printed on stdout in a workflow step

    annotations = processed_commands(documents["github"])
    assert len(annotations) == len(documents["github"].splitlines()) == _annotations_expected(report)
    assert {c.name for c in annotations} <= {"error", "warning"}

    # The log: the console report fenced off, then gates' own annotations, nothing else acted on.
    log = run.out + run.err
    assert_no_raw_controls(log, "log")
    assert SHOWN_NON_UTF8 in run.out
    first = parse_line(run.out.splitlines()[0])
    assert first is not None and first.name == "stop-commands" and re.fullmatch("[0-9a-f]{32}", first.data)
    acted = processed_commands(log)
    assert len(acted) == _annotations_expected(report)
    assert {c.name for c in acted} <= {"error", "warning"}
    assert run.out.index(f"::{first.data}::") < run.out.index("::error ")

    markdown = summary.read_text(encoding="utf-8")
    assert_no_raw_controls(markdown, "summary")
    assert_safe_markdown(markdown, "summary")


def test_console_and_documents_on_stdout_outside_actions(hostile_tree: Path) -> None:
    """Without the fence, the escaping alone keeps every stdout line from being a command."""
    for fmt in ("console", "json", "junit", "sarif", "gitlab-codequality"):
        run = run_gates(["manifests", "k8s", "::error::named.json", "--format", fmt], hostile_tree)
        assert run.code == 1, (fmt, run.err)
        assert_no_raw_controls(run.out + run.err, fmt)
        assert_no_workflow_command(run.out + run.err, fmt)
    console = run_gates(["manifests", "k8s", "::error::named.json"], hostile_tree).out
    assert r"\x3a:error::named.json" in console  # shown, at a line start, but not a command
    assert r"##\x5bwarning]named.json" in console
    assert r"\u202egnp.exe" in console and r"\x1b[31m" in console


def test_a_non_utf8_file_named_on_the_command_line(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, NON_UTF8_NAME), "wb") as handle:
        handle.write(manifest(hostile_pod("web")))
    run = run_gates(["manifests", NON_UTF8_NAME, "--format", "json"], tmp_path)
    assert run.code == 1, run.err
    report = assert_valid_json(run.out, "json")
    assert {r["location"]["path"] for r in report["results"]} == {SHOWN_NON_UTF8}  # the pod, its unknown waiver


def test_config_errors_quoting_content_are_inert_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(f"{quoted('key' + HOSTILE)} = 1\n", encoding="utf-8")
    run = run_gates(["manifests", "."], tmp_path)
    assert run.code == 2
    assert run.err.startswith("gates: configuration error: gates.toml: key")
    assert len(run.err.splitlines()) == 1
    assert_no_raw_controls(run.err, "stderr")
    assert_no_workflow_command(run.err, "stderr")
