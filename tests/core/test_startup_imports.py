"""What a plain one-file scan imports: only what it needs (the start-up aim of bench/startup.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("hashlib", "_hashlib", "typing", "threading", "dataclasses", "inspect", "sigstore", "requests")
"""OpenSSL (a sharded run's, a baseline's or SARIF's), typing (type checkers'), threading (the
image gates'): each a tenth of a one-file scan's start-up or more."""


def _loaded_after_a_scan(tmp_path: Path, argv: list[str], watched: tuple[str, ...]) -> tuple[list[str], str]:
    """Which of `watched` a fresh interpreter has imported after `gates.entry.main(argv)` over one Pod, and
    the class of PyYAML's pure reader's pattern then (a stand-in until something compiles it)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                                       "spec: {containers: [{name: c, image: 'nginx:1'}]}\n")
    code = ("import sys\nfrom gates.entry import main\n"
            f"try:\n    main({argv!r})\n"
            f"finally:\n    print('LOADED', [m for m in {watched!r} if m in sys.modules])\n"
            "    import yaml\n    print('IDLE', type(yaml.reader.Reader.NON_PRINTABLE).__name__)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert '"outcome":"failed"' in proc.stdout or "manifests: 1 failed" in proc.stdout, proc.stdout + proc.stderr
    loaded = next(line for line in proc.stdout.splitlines() if line.startswith("LOADED "))
    idle = next(line for line in proc.stdout.splitlines() if line.startswith("IDLE "))
    return ast.literal_eval(loaded.removeprefix("LOADED ")), idle.removeprefix("IDLE ")


def test_a_plain_scan_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    loaded, idle = _loaded_after_a_scan(tmp_path, ["manifests", "pod.yaml", "--format", "json", "--output",
                                                   "junit=r.xml"], HEAVY)
    assert (loaded, idle) == ([], "CompiledOnFirstUse")
    assert (tmp_path / "r.xml").stat().st_size > 0


def test_every_report_format_keeps_off_dataclasses_and_inspect(tmp_path: Path) -> None:
    """SARIF takes hashlib (its fingerprints); no format needs dataclasses, inspect or the idle pattern."""
    loaded, idle = _loaded_after_a_scan(tmp_path, ["manifests", "pod.yaml", "--format", "json", "--format", "console",
                                                   "--output", "junit=r.xml", "--output", "sarif=r.sarif"],
                                        ("dataclasses", "inspect"))
    assert (loaded, idle) == ([], "CompiledOnFirstUse")
    assert (tmp_path / "r.sarif").stat().st_size > 0 and (tmp_path / "r.xml").stat().st_size > 0


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
