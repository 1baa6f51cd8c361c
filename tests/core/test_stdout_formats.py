"""stdout carries at most one document: two (`-f json -f junit`) are a usage error pointing to `--output`.

Decided for console (and github) beside one document: the document keeps stdout, the text goes to
stderr, so `gates ... -f console -f json | jq` and `> report.json` get valid JSON and people still
read the report.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.core.reports_support import failing_project, gates


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return failing_project(tmp_path / "repo")


@pytest.mark.parametrize("command", ["manifests", "run"])  # the fast path and the full CLI
def test_two_documents_on_stdout_are_a_usage_error(repo: Path, command: str) -> None:
    run = gates([command, "-f", "json", "-f", "junit", "pod0.yaml"], repo)
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == ("gates: error: --format: json and junit cannot share stdout (each is a document of"
                               " its own): keep one there and write the others to files with --output junit=PATH")


def test_two_documents_in_the_config_are_a_configuration_error(repo: Path) -> None:
    (repo / "gates.toml").write_text('format = ["console", "sarif", "gitlab-codequality"]\n')
    run = gates(["manifests", "pod0.yaml"], repo)
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == (
        "gates: configuration error: gates.toml: format: sarif and gitlab-codequality cannot share stdout (each is a"
        ' document of its own): keep one there and write the others to files with [output] (gitlab-codequality ='
        ' "gates-report.gitlab-codequality")')


def test_two_documents_in_the_environment_are_a_configuration_error(repo: Path) -> None:
    run = gates(["manifests", "pod0.yaml"], repo, {"GATES_FORMAT": "json,sarif"})
    assert run.code == 2 and run.out == ""
    assert run.err.startswith("gates: configuration error: environment variable GATES_FORMAT: json and sarif cannot")


def test_console_beside_a_document_goes_to_stderr(repo: Path) -> None:
    run = gates(["manifests", "-f", "console", "-f", "junit", "pod0.yaml"], repo)
    assert run.code == 1, run.err
    assert ET.fromstring(run.out).tag == "testsuites"  # stdout is the document, and only it
    assert "pss-privileged" in run.err and "1 failed" in run.err


def test_github_annotations_beside_a_document_go_to_stderr(repo: Path) -> None:
    run = gates(["manifests", "-f", "github", "-f", "json", "pod0.yaml"], repo)
    assert run.code == 1, run.err
    assert json.loads(run.out)["outcome"] == "failed"
    assert "::error file=pod0.yaml" in run.err


def test_text_formats_share_stdout(repo: Path) -> None:
    run = gates(["manifests", "-f", "console", "-f", "github", "pod0.yaml"], repo)
    assert run.code == 1 and "1 failed" in run.out and "::error file=pod0.yaml" in run.out


@pytest.mark.parametrize("command", ["manifests", "run"])
def test_a_misspelled_format_gets_did_you_mean(repo: Path, command: str) -> None:
    run = gates([command, "--format", "jsno", "pod0.yaml"], repo)
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == "gates: error: --format: unknown format 'jsno' (did you mean json?)"
