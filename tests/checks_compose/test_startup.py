"""Lazy start-up: a compose scan imports neither sigstore nor requests, and a manifest scan (or
`gates list`) loads nothing of the compose gate's logic (the CLI reads only its rules, table and command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROBE = (
    "import sys\nfrom gates.cli import main\n"
    "main({args!r})\n"
    "heavy = sorted(m for m in ('sigstore', 'requests', 'cryptography') if m in sys.modules)\n"
    "compose = sorted(m for m in sys.modules if m.startswith('gates.checks.compose'))\n"
    "print('HEAVY', heavy, 'COMPOSE', compose)\n"
)


def _loaded(args: list[str], cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                          check=True, cwd=cwd, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    return proc.stdout.splitlines()[-1]


def test_a_compose_scan_imports_neither_sigstore_nor_requests(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: a:1\n", encoding="utf-8")
    line = _loaded(["compose", ".", "--format", "json", "--output", "junit=j.xml", "--output", "sarif=s.sarif"],
                   tmp_path)
    assert line.startswith("HEAVY [] COMPOSE [") and "gates.checks.compose.gate" in line


def test_a_manifest_scan_loads_only_the_compose_rules(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: a:1\n", encoding="utf-8")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                                       "spec: {containers: [{name: c, image: 'x:1'}]}\n", encoding="utf-8")
    line = _loaded(["manifests", ".", "--format", "json"], tmp_path)
    assert line.startswith("HEAVY [] COMPOSE [")
    logic = ("gate", "checks", "project", "schema", "interpolate", "job")
    assert not [name for name in logic if f"'gates.checks.compose.{name}'" in line], line
