"""Peak memory of a manifest scan over hostile-but-legal inputs (issue "Faults, scale and interrupts").

    python bench/memory.py [--gates CMD] [--json PATH]

Inputs, generated into bench/.work/memory/:
- `long-list.yaml`: a 10 MiB Pod (inside the default `max-file-size`) holding one long flow list of args.
- `pod-list.yaml`: a 50 MB `kind: List` of ordinary Pods, scanned with `max-file-size` raised to 64 MiB.
- `alias-bomb.yaml`: half a kilobyte whose aliases expand to 500,000 mappings.

Each scan runs in a fresh helper interpreter that reads `getrusage(RUSAGE_CHILDREN)`: the peak RSS of
the largest process of that run, plus the wall clock and the first error. A pooled scan holds one such
peak per worker (two on two cores), so these figures are per process.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from _harness import WORK_DIR, default_gates_command, measure

MIB = 1024 * 1024
POD = """  - apiVersion: v1
    kind: Pod
    metadata:
      name: pod-{n}
      namespace: team
      labels: {{app: web, tier: front}}
    spec:
      containers:
      - name: app
        image: registry.example.com/shop/web:1.4
        ports: [{{containerPort: 8080}}]
        securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false}}
"""


def long_list(path: Path, size: int = 10 * MIB - 4096) -> Path:
    """A Pod whose container has one flow list of arguments (two bytes each), `size` bytes in all."""
    if not path.exists() or path.stat().st_size != size:
        head = "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n  - name: app\n    args: ["
        body = "a," * ((size - len(head) - 3) // 2) + "a]\n"
        path.write_text(head + body + " " * (size - len(head) - len(body)))
    return path


def pod_list(path: Path, size: int = 50 * 1000 * 1000) -> Path:
    if not path.exists() or path.stat().st_size < size:
        with path.open("w") as out:
            out.write("apiVersion: v1\nkind: List\nitems:\n")
            n = 0
            while out.tell() < size:
                out.write(POD.format(n=n))
                n += 1
    return path


def alias_bomb(path: Path) -> Path:
    """Half a kilobyte whose aliases expand to 500,000 small mappings."""
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  a: &a {k: {k: {k: {k: v}}}}"]
    lines += [f"  b{i}: &b{i} [" + ",".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 9) + "]" for i in range(8)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", help="the gates command (default: the project venv's)")
    parser.add_argument("--json", type=Path, default=WORK_DIR / "memory-results.json")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    gates = shlex.split(args.gates) if args.gates else default_gates_command()
    work = WORK_DIR / "memory"
    work.mkdir(parents=True, exist_ok=True)
    (work / "gates.toml").write_text("[manifests]\nmax-file-size = 67108864\n")
    listed = long_list(work / "long-list.yaml")
    cases = {
        "10 MiB one long list": [str(listed)],
        "50 MB kind: List of Pods (max-file-size 64 MiB)": [str(pod_list(work / "pod-list.yaml")),
                                                             "--config", str(work / "gates.toml")],
        "alias bomb, 0.5 KB": [str(alias_bomb(work / "alias-bomb.yaml"))],
    }
    figures = {}
    for name, scan in cases.items():
        run = measure([*gates, "manifests", *scan, "--format", "json"], stdout_path=work / "out.json",
                      stderr_path=work / "err.txt", cwd=work, timeout=args.timeout)
        line = next(iter(run.stderr_path.read_text(errors="replace").splitlines()), "")
        try:
            results = json.loads((work / "out.json").read_text())["results"]
            first = next((r["error"] for r in results if r["error"]), line)
        except (ValueError, KeyError):
            first = line
        figures[name] = {"rc": run.rc, "peak_mb": round(run.peak_mb, 1), "seconds": round(run.seconds, 2),
                         "timed_out": run.timed_out, "first_error": first[:200]}
        print(f"{name}: peak {run.peak_mb:.0f} MB, {run.seconds:.1f} s, rc {run.rc}: {first[:160]}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
