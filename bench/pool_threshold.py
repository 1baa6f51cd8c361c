"""At how many files a manifest scan's fork-based split starts to pay, on this machine.

    python bench/pool_threshold.py [--docs 10000] [--files 32 64 ...] [--repeat R]

Takes the first N files (in walk order) of `bench/manifests.py`'s corpus and scans them with
`gates.checks.manifests.gate._scan_files` twice per round, in one process and split (this process
scans the first share while one forked child per other usable core scans the rest; forced on and off
through `PARALLEL_MIN_FILES`), rounds interleaved so that the shared machine's drift hits both alike.
Reports the median wall time of each, their ratio, and the CPU seconds (this process and its children)
the split costs on top. The split pays where its wall time is below the single process's.

Rounds after the first reuse this process's imports; a real run pays them once, so the import of the
one module the split adds (`pickle`, which sends the children's results back) is measured apart, in
fresh interpreters against a bare one, and added to the split's figures in the last column.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _harness import WORK_DIR, gates_corpus, print_table
from manifests import build_corpus

from gates.checks.manifests import gate
from gates.targets.files import SourceFile, discover


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(files: Sequence[SourceFile], split: bool) -> tuple[float, float]:
    options = gate.ManifestOptions(paths=(".",))
    plan = gate._plan(options)
    gate.PARALLEL_MIN_FILES = 0 if split else sys.maxsize
    gc.disable()
    cpu, start = _cpu(), time.perf_counter()
    gate._scan_files(files, options, plan)
    wall = time.perf_counter() - start
    gc.enable()
    return wall, _cpu() - cpu


def split_import_seconds(repeat: int) -> float:
    """Median wall seconds a fresh interpreter spends importing `pickle`, beyond a bare start."""
    import subprocess

    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    bare, imported = [], []
    for _ in range(repeat):
        bare.append(once("pass"))
        imported.append(once("import pickle"))
    return max(0.0, statistics.median(imported) - statistics.median(bare))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000, help="corpus size to take files from")
    parser.add_argument("--files", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds; medians reported")
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(gates_corpus(), args.docs, 1)
    os.chdir(corpus.root)
    every = discover(["."]).files
    imports = split_import_seconds(max(args.repeat, 5))
    rows: list[list[str]] = []
    for count in args.files:
        files = every[:count]
        single: list[tuple[float, float]] = []
        forked: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            single.append(_timed(files, split=False))
            forked.append(_timed(files, split=True))
        wall_1 = statistics.median(w for w, _ in single)
        wall_p = statistics.median(w for w, _ in forked)
        cpu_1 = statistics.median(c for _, c in single)
        cpu_p = statistics.median(c for _, c in forked)
        rows.append([str(len(files)), f"{wall_1 * 1000:.0f}", f"{wall_p * 1000:.0f}", f"{wall_1 / wall_p:.2f}x",
                     f"{cpu_1 * 1000:.0f}", f"{cpu_p * 1000:.0f}", f"{wall_1 / (wall_p + imports):.2f}x"])
    print(f"corpus {Path(corpus.root).name}, {len(os.sched_getaffinity(0))} usable cores, median of {args.repeat}"
          f" interleaved rounds; importing pickle: {imports * 1000:.1f} ms\n")
    print_table(["files", "one process ms", "split ms", "split speed-up", "one process CPU ms", "split CPU ms",
                 "speed-up with pickle's import"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
