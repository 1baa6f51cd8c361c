"""`--` before the targets, as every CI surface writes it: what follows is a path or an image, never an option.

The files are named the way a pull request could name them; `evil.toml` waives everything, so a
name read as `--config=evil.toml` would turn a failing manifest into a pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.entry import parse_manifests_args
from tests.conftest import REPO, run_process
from tests.cosign.factory import public_pem
from tests.reporters.conftest import BAD_DEPLOYMENT

EVIL_CONFIG = '[[waivers]]\nrule = "*"\npath = "*"\nreason = "anything goes"\n'
HOSTILE_NAMES = ["--config=evil.toml", "-x", "*", "my app.yaml", "$(touch pwned).yaml", "-"]
"""Committed file names that look like options, globs, words or commands (and `-`, which is stdin)."""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "evil.toml").write_text(EVIL_CONFIG, encoding="utf-8")
    for name in HOSTILE_NAMES[:-1]:
        (tmp_path / name).write_text(BAD_DEPLOYMENT, encoding="utf-8")
    return tmp_path


def _files(report: dict[str, Any]) -> dict[str, str]:
    return {r["target"].partition("#")[0]: r["outcome"] for r in report["results"]}


def test_the_evil_config_would_force_a_pass(tree: Path) -> None:
    """The control: read as an option, the first name waives every finding."""
    assert run_process(["manifests", "--config=evil.toml", "./-x"], cwd=tree).code == 0


def test_manifests_takes_everything_after_double_dash_as_paths(tree: Path) -> None:
    result = run_process(["manifests", "--format", "json", "--", *HOSTILE_NAMES], cwd=tree, stdin=BAD_DEPLOYMENT)
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert _files(report) == {**dict.fromkeys(HOSTILE_NAMES[:-1], "failed"), "<stdin>": "failed"}
    assert report["summary"]["waived"] == 0
    assert not (tree / "pwned").exists()


def test_the_fast_path_parses_double_dash() -> None:
    """`gates manifests [OPTIONS] -- PATH...` is the surfaces' command line: it must not need typer."""
    parsed = parse_manifests_args(["manifests", "--format", "json", "--", "-v", "--config=evil.toml", "--", "-"])
    assert parsed == {"paths": ["-v", "--config=evil.toml", "--", "-"], "formats": ["json"], "outputs": [],
                      "verbose": False}
    assert parse_manifests_args(["manifests", "--level", "baseline", "--"]) is None  # no path: the CLI decides


def test_double_dash_keeps_the_scan_off_typer(tree: Path) -> None:
    code = ("import sys\nfrom gates.entry import main\n"
            "code = main(['manifests', '--format', 'json', '--', '-x', '--config=evil.toml'])\n"
            "print('CODE', code, 'TYPER', 'typer' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}, timeout=60)
    assert "CODE 1 TYPER False" in proc.stderr, proc.stderr
    assert _files(json.loads(proc.stdout)) == {"-x": "failed", "--config=evil.toml": "failed"}


def test_run_takes_its_path_after_double_dash(tree: Path) -> None:
    result = run_process(["run", "--format", "json", "--", "--config=evil.toml"], cwd=tree)
    assert result.code == 1, result.err
    assert _files(json.loads(result.out)) == {"--config=evil.toml": "failed"}


@pytest.mark.parametrize("command", [["signature", "--key=cosign.pub"], ["base-image"]])
def test_image_gates_take_references_after_double_dash(tree: Path, command: list[str]) -> None:
    """An image named like an option is an image reference, and an invalid one: `error`, named."""
    (tree / "cosign.pub").write_bytes(public_pem(ec.generate_private_key(ec.SECP256R1())))
    result = run_process([*command, "--format", "json", "--", "--now=2020-01-01", "-x"], cwd=tree)
    assert result.code == 1, result.err
    results = json.loads(result.out)["results"]
    assert [(r["target"], r["outcome"]) for r in results] == [("--now=2020-01-01", "error"), ("-x", "error")]
    assert all("invalid image reference" in r["error"] for r in results)
