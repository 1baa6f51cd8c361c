"""What a plain one-file scan imports: only what it needs (the start-up aim of bench/startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("hashlib", "_hashlib", "typing", "threading", "dataclasses", "inspect", "sigstore", "requests")
"""OpenSSL (a sharded run's, a baseline's or SARIF's), typing (type checkers'), threading (the
image gates'): each a tenth of a one-file scan's start-up or more."""


def test_a_plain_scan_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                                       "spec: {containers: [{name: c, image: 'nginx:1'}]}\n")
    code = ("import sys\nfrom gates.entry import main\n"
            "try:\n    main(['manifests', 'pod.yaml', '--format', 'json', '--output', 'junit=r.xml'])\n"
            f"finally:\n    print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert '"outcome":"failed"' in proc.stdout and (tmp_path / "r.xml").stat().st_size > 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout


def test_the_interrupt_trap_still_works_where_threading_is_imported_later(tmp_path: Path) -> None:
    """Without `threading` the trap takes this for the main thread; once it is imported, it asks it."""
    code = ("import signal, sys\nfrom gates import interrupts\n"
            "assert 'threading' not in sys.modules\n"
            "with interrupts.trapped():\n    assert signal.getsignal(signal.SIGTERM) is interrupts._raise_interrupted\n"
            "import threading\nseen = []\n"
            "def other():\n    with interrupts.trapped():\n        seen.append(signal.getsignal(signal.SIGTERM))\n"
            "t = threading.Thread(target=other); t.start(); t.join()\n"
            "print('OTHER', seen == [signal.SIG_DFL])\n"
            "try:\n    with interrupts.trapped():\n        signal.raise_signal(signal.SIGTERM)\n"
            "except interrupts.Interrupted as exc:\n    print('RAISED', exc.name)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.stdout.split("\n")[:2] == ["OTHER True", "RAISED SIGTERM"], proc.stdout + proc.stderr
