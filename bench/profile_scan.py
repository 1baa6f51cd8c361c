"""Where a manifest scan's time goes: start-up, walk, read, parse, rules, report, in CPU seconds.

    python bench/profile_scan.py PATH [--repeat R]

Start-up is a fresh interpreter doing `gates manifests` on an empty file (imports and config), minus a
bare `python -c pass`. The other phases run one after another in this process, in one core (no worker
pool), with cyclic GC off as in the real scan, and each is timed with `time.process_time` (user + system
CPU, steadier than wall time on a shared machine). The best of R runs of each phase is reported.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from _harness import compile_bytecode, venv_python

from gates.checks.manifests.gate import ManifestOptions, _plan, _scan_document
from gates.checks.manifests.rules import GATE
from gates.engine import GateJob, run
from gates.reporters import Format, RenderContext, renderer
from gates.targets.files import discover, read_text
from gates.targets.yaml_docs import Document, PosDict, load_documents

T = TypeVar("T")


def _cpu(work: Callable[[], T]) -> tuple[float, T]:
    start = time.process_time()
    value = work()
    return time.process_time() - start, value


def _child_cpu(cmd: Sequence[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def startup_cpu(repeat: int) -> tuple[float, float]:
    """CPU seconds of a bare interpreter and of a one-(empty-)file scan, best of `repeat` interleaved."""
    python = str(venv_python())
    compile_bytecode()
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.yaml"
        empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", encoding="utf-8")
        bare, scan = [], []
        for _ in range(repeat):
            bare.append(_child_cpu([python, "-c", "pass"], Path(folder)))
            scan.append(_child_cpu([python, "-m", "gates", "manifests", "empty.yaml", "--format", "json"],
                                   Path(folder)))
    return min(bare), min(scan)


def phases(path: str) -> dict[str, float]:
    options = ManifestOptions(paths=(path,))
    plan = _plan(options)
    walk, found = _cpu(lambda: discover(options.paths))
    read, texts = _cpu(lambda: [(f.path, read_text(f.path, options.max_file_bytes)) for f in found.files])

    def parse_all() -> list[tuple[str, Document]]:
        return [(name, doc) for name, text in texts for doc in load_documents(text, plan.wanted)]

    parse, documents = _cpu(parse_all)

    def judge() -> list[object]:
        return [item for name, doc in documents if isinstance(doc.content, PosDict)
                for item in _scan_document(name, doc, plan)]

    rules, judged = _cpu(judge)
    results = [getattr(item, "result", item) for item in judged]

    def report() -> str:
        done = run([GateJob(GATE, lambda: results)])  # type: ignore[arg-type, return-value]
        return renderer(Format.JSON)(done, RenderContext(root=Path.cwd(), version="bench"))

    rendered, _ = _cpu(report)
    return {"walk": walk, "read": read, "parse": parse, "rules": rules, "report": rendered,
            "files": float(len(found.files)), "documents": float(len(documents))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="file or folder to scan (run from where its paths should be relative)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase; the best is reported")
    args = parser.parse_args(argv)
    gc.disable()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, value in phases(args.path).items():
            best[name] = min(best.get(name, value), value)
    bare, scan = startup_cpu(max(args.repeat, 5))
    print(f"{int(best.pop('files'))} files, {int(best.pop('documents'))} documents (CPU seconds, best of"
          f" {args.repeat}; one process)")
    print(f"  start-up  {scan - bare:7.3f}  (one-file scan {scan:.3f} - bare python {bare:.3f})")
    for name, value in best.items():
        print(f"  {name:<8}  {value:7.3f}")
    print(f"  total     {sum(best.values()) + scan - bare:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
