"""Start-up benchmark: `gates --version` and a one-file manifest scan against a bare `python -c pass`.

    python bench/startup.py [--runs N] [--file PATH]

Each command runs N times, interleaved so that drift hits every case alike; the median wall-clock and
CPU (user + system, steadier on a shared machine) time of each is compared with the bare interpreter
the `gates` script runs on. The aim is at most 2 times the bare interpreter. It also lists, from
`-X importtime`, the heaviest imports of the one-file scan and checks that neither sigstore nor
requests is imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _harness import (
    REPO_ROOT,
    WORK_DIR,
    default_gates_command,
    gates_corpus,
    git_revision,
    machine_description,
    median,
    print_table,
    venv_python,
)

AIM = 2.0
FORBIDDEN = ("sigstore", "requests")
DEFAULT_FILE = Path("extras/kubernetes-examples/AI/model-serving-tensorflow/deployment.yaml")


def _time_once(cmd: Sequence[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, exit code, and CPU seconds (user + system) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    rc = subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, rc, cpu


def import_profile(cmd: Sequence[str], cwd: Path) -> tuple[list[str], list[tuple[float, str]]]:
    """Top-level packages imported by `cmd`, and its imports by cumulative time (ms), heaviest first."""
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd)
    packages: set[str] = set()
    timings: list[tuple[float, str]] = []
    line_re = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
    for line in done.stderr.splitlines():
        match = line_re.match(line)
        if not match:
            continue
        module = match.group(4)
        packages.add(module.split(".", 1)[0])
        timings.append((int(match.group(2)) / 1000.0, f"{match.group(3)[1:]}{module}"))
    timings.sort(reverse=True)
    return sorted(packages), timings


def install_copy(venv_dir: Path) -> Path:
    """The project installed into its own venv as a user gets it (a wheel's copy, bytecode compiled, no
    editable finder in `site`), with PyYAML, all a manifest scan needs; its bin folder."""
    import venv

    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    log = WORK_DIR / "install-installed.log"
    with log.open("wb") as handle:
        for packages in (["PyYAML"], ["--no-deps", "--force-reinstall", str(REPO_ROOT)]):
            done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                                   *packages], stdout=handle, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise SystemExit(f"bench: `pip install {' '.join(packages)}` failed, see {log}")
    return venv_dir / "bin"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="runs per command (default 21); medians compared")
    parser.add_argument("--file", type=Path, default=None, help="the manifest for the one-file scan")
    parser.add_argument("--gates", default=None, help="gates command (default: the project venv's script)")
    parser.add_argument("--before", default=None, metavar="CMD",
                        help="another gates command (e.g. an older tree's) whose one-file scan runs in the same"
                             " interleaved rounds, for a before/after ratio against the same bare interpreter")
    parser.add_argument("--installed", action="store_true",
                        help="also time a copy installed as users get it (not editable), in bench/.work/venv-installed,"
                             " against that venv's own bare interpreter, and PyYAML's import there alone")
    parser.add_argument(
        "--json", type=Path, default=WORK_DIR / "startup-results.json", help="where to write the figures"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be positive")

    manifest = (args.file or gates_corpus() / DEFAULT_FILE).resolve()
    if not manifest.is_file():
        raise SystemExit(f"bench: {manifest} not found (set GATES_CORPUS or pass --file)")
    gates = args.gates.split() if args.gates else default_gates_command()
    python = venv_python()
    cwd = manifest.parent
    cases: dict[str, list[str]] = {
        "python -c pass": [python, "-c", "pass"],
        "gates --version": [*gates, "--version"],
        "gates manifests FILE --format json": [*gates, "manifests", manifest.name, "--format", "json"],
    }
    bare_of = dict.fromkeys(cases, "python -c pass")
    if args.installed:
        installed = install_copy(WORK_DIR / "venv-installed")
        cases["installed: python -c pass"] = [str(installed / "python"), "-c", "pass"]
        cases["installed: python -c 'import yaml'"] = [str(installed / "python"), "-c", "import yaml"]
        cases["installed: gates manifests FILE --format json"] = [str(installed / "gates"), "manifests",
                                                                  manifest.name, "--format", "json"]
        bare_of.update({name: "installed: python -c pass" for name in cases if name.startswith("installed:")})
    if args.before:
        bare_of["before: gates manifests FILE --format json"] = "python -c pass"
        cases["before: gates manifests FILE --format json"] = [*args.before.split(), "manifests", manifest.name,
                                                               "--format", "json"]
    for cmd in cases.values():  # warm the page cache and the bytecode caches
        _, rc, _ = _time_once(cmd, cwd)
        if rc not in (0, 1):  # 1 is a scan with findings
            raise SystemExit(f"bench: `{' '.join(cmd)}` exited {rc}")

    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            seconds, _, cpu_seconds = _time_once(cmd, cwd)
            samples[name].append(seconds)
            cpu[name].append(cpu_seconds)

    rows: list[list[str]] = []
    figures: dict[str, dict[str, object]] = {}
    for name, values in samples.items():
        bare = median(samples[bare_of[name]])
        bare_cpu = median(cpu[bare_of[name]]) or 1e-3
        mid = median(values)
        ratio = mid / bare
        mid_cpu = median(cpu[name])
        rows.append([name, f"{mid * 1000:.1f}", f"{min(values) * 1000:.1f}", f"{ratio:.2f}x",
                     f"{mid_cpu * 1000:.0f}", f"{mid_cpu / bare_cpu:.2f}x"])
        figures[name] = {
            "command": " ".join(cases[name]),
            "median_ms": round(mid * 1000, 2),
            "min_ms": round(min(values) * 1000, 2),
            "ratio_vs_bare": round(ratio, 2),
            "median_cpu_ms": round(mid_cpu * 1000, 1),
            "cpu_ratio_vs_bare": round(mid_cpu / bare_cpu, 2),
        }
    print(f"start-up, median of {args.runs} runs; one-file scan of {manifest}")
    print()
    print_table(["command", "median ms", "min ms", "vs bare python", "median CPU ms", "CPU vs bare"], rows)
    print()
    for name in (n for n in cases if bare_of[n] != n and "import yaml" not in n):
        ratio = float(str(figures[name]["ratio_vs_bare"]))
        print(f"aim: {name} <= {AIM:.0f}x {bare_of[name]}: {ratio:.2f}x -> {'met' if ratio <= AIM else 'MISSED'}")

    packages, timings = import_profile(cases["gates manifests FILE --format json"], cwd)
    imported = [name for name in FORBIDDEN if name in packages]
    print(
        "imports of the one-file scan: "
        + (f"imports {', '.join(imported)} (it must not)" if imported else "neither sigstore nor requests")
    )
    print("heaviest imports (cumulative ms):")
    top_level = [(ms, module) for ms, module in timings if not module.startswith(" ")]
    for ms, module in top_level[:12]:
        print(f"  {ms:8.1f}  {module}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "machine": machine_description(),
                "gates_revision": git_revision(),
                "runs": args.runs,
                "file": str(manifest),
                "cases": figures,
                "forbidden_imports": imported,
                "top_imports_ms": [[round(ms, 1), module] for ms, module in top_level[:20]],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
