"""Sharding benchmark: one manifest tree judged whole, and in N shards as N processes, then merged.

    python bench/shards.py [--docs 40000] [--shards 4] [--repeat 1]

Builds (or reuses) the corpus of `bench/manifests.py` under bench/.work/, then measures, with the
gates of this checkout:

- the unsharded run (`gates manifests --output json=...`);
- the N shards started together as N processes (`--shard K/N`), as a matrix whose jobs share this
  machine: each shard's wall time, the slowest, and the wall time until the last one ended;
- each shard alone, one after another, as a matrix with a runner per job would see it;
- `gates merge` over the N reports;

and checks that the merged report holds the results of the unsharded one (sorted, compared whole).
A benchmark, not a test: it reports, it never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _harness import (
    WORK_DIR,
    Measurement,
    default_gates_command,
    gates_corpus,
    git_revision,
    machine_description,
    measure,
)
from manifests import build_corpus


def _run(args: Sequence[str], cwd: Path, label: str) -> Measurement:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATES_", "CI", "GITLAB", "GITHUB"))}
    env["NO_COLOR"] = "1"
    return measure([*default_gates_command(), *args], stdout_path=None, stderr_path=WORK_DIR / f"{label}.err",
                   env=env, cwd=cwd)


def _results(path: Path) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in json.loads(path.read_text(encoding="utf-8"))["results"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=40_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    corpus = build_corpus(gates_corpus(), args.docs, seed=19)
    out = WORK_DIR / "shards"
    out.mkdir(parents=True, exist_ok=True)
    tree = corpus.root.relative_to(corpus.root.parent)
    cwd = corpus.root.parent
    print(f"corpus: {corpus.documents} documents in {corpus.files} files ({tree}); {machine_description()};"
          f" gates at {git_revision()}", flush=True)
    rows: dict[str, list[float]] = {"unsharded": [], "slowest shard (together)": [], "all shards (together)": [],
                                    "slowest shard (alone)": [], "merge": []}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.repeat):
        whole = out / "whole.json"
        unsharded = _run(["manifests", "--output", f"json={whole}", "--", str(tree)], cwd, "whole")
        rows["unsharded"].append(unsharded.seconds)
        cpu["unsharded"].append(unsharded.cpu_seconds)
        reports = [out / f"shard-{k}.json" for k in range(1, args.shards + 1)]

        def shard(k: int, total: int = args.shards) -> Measurement:
            return _run(["manifests", "--shard", f"{k}/{total}", "--output", f"json={out / f'shard-{k}.json'}",
                         "--", str(tree)], cwd, f"shard-{k}")

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.shards) as pool:
            together = list(pool.map(shard, range(1, args.shards + 1)))
        rows["all shards (together)"].append(time.perf_counter() - started)
        rows["slowest shard (together)"].append(max(m.seconds for m in together))
        cpu["all shards (together)"].append(sum(m.cpu_seconds for m in together))
        cpu["slowest shard (together)"].append(max(m.cpu_seconds for m in together))
        alone = [shard(k) for k in range(1, args.shards + 1)]
        rows["slowest shard (alone)"].append(max(m.seconds for m in alone))
        cpu["slowest shard (alone)"].append(max(m.cpu_seconds for m in alone))
        merged = out / "merged.json"
        merge = _run(["merge", "--output", f"json={merged}", "--", *map(str, reports)], cwd, "merge")
        rows["merge"].append(merge.seconds)
        cpu["merge"].append(merge.cpu_seconds)
        same = _results(merged) == _results(whole)
        sizes = [len(json.loads(p.read_text(encoding="utf-8"))["results"]) for p in reports]
        print(f"shard results {sizes}; merged == unsharded: {same}; exit codes whole/merge "
              f"{_exit(out / 'whole.json')}/{merge.rc}", flush=True)
        if not same:
            print("bench: the merged report differs from the unsharded one", file=sys.stderr)
    print(f"{'':<26} {'wall':>9} {'cpu':>9}  (best of {args.repeat})")
    for name, values in rows.items():
        print(f"{name:<26} {min(values):7.2f} s {min(cpu[name]):7.2f} s")
    return 0


def _exit(report: Path) -> str:
    return str(json.loads(report.read_text(encoding="utf-8"))["outcome"])


if __name__ == "__main__":
    sys.exit(main())
