"""Shared plumbing for the benchmarks: paths, machine description, and measuring one child process.

Peak memory is read with `resource.getrusage(RUSAGE_CHILDREN)` inside a *fresh* helper interpreter
that runs exactly one command, so the figure belongs to that command alone (the maximum resident set
of the largest process it waited for) and never to an earlier run of another tool.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"

# Runs one command, times it with a wall clock, and reports the children's rusage as JSON on stdout.
_MEASURE_CHILD = r"""
import json, resource, subprocess, sys, time
spec = json.loads(sys.argv[1])
err = open(spec["stderr"], "wb")
out = open(spec["stdout"], "wb") if spec["stdout"] else subprocess.DEVNULL
timed_out = False
start = time.perf_counter()
try:
    rc = subprocess.run(spec["cmd"], stdout=out, stderr=err, env=spec["env"], cwd=spec["cwd"],
                        timeout=spec["timeout"]).returncode
except subprocess.TimeoutExpired:
    rc, timed_out = -1, True
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "seconds": seconds, "maxrss_kb": usage.ru_maxrss,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, "timed_out": timed_out}))
"""


@dataclass(frozen=True)
class Measurement:
    rc: int
    seconds: float
    peak_mb: float
    cpu_seconds: float
    timed_out: bool
    stdout_path: Path | None
    stderr_path: Path


def gates_corpus() -> Path:
    """`$GATES_CORPUS`, or `../shared/corpus` relative to the repository root."""
    configured = os.environ.get("GATES_CORPUS")
    return Path(configured).resolve() if configured else (REPO_ROOT.parent / "shared" / "corpus").resolve()


def compile_bytecode(package: Path = REPO_ROOT / "gates") -> None:
    """Write the package's bytecode caches, as `pip install` does for an installed copy.

    An editable checkout only gets them when Python may write them: under `PYTHONDONTWRITEBYTECODE`
    (set on some CI runners and development machines) every run would compile every module again, a
    fixed ~30 ms that no installed gates pays, and start-up figures would measure the compiler.
    """
    import compileall

    compileall.compile_dir(package, quiet=1)


def default_gates_command() -> list[str]:
    """The project's console script from its venv, else `python -m gates` with this interpreter; either
    way with the package's bytecode written (`compile_bytecode`), as an installed copy has it."""
    compile_bytecode()
    script = REPO_ROOT / ".venv" / "bin" / "gates"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gates"]


def venv_python() -> str:
    """The interpreter the `gates` console script runs on (the project venv), else this one."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    return str(python) if python.exists() else sys.executable


def measure(
    cmd: Sequence[str],
    *,
    stdout_path: Path | None,
    stderr_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Measurement:
    """Run `cmd` once from a fresh helper interpreter; wall clock, CPU time and peak RSS of that run."""
    spec = {
        "cmd": list(cmd),
        "stdout": str(stdout_path) if stdout_path else None,
        "stderr": str(stderr_path),
        "env": dict(env if env is not None else os.environ),
        "cwd": str(cwd) if cwd else None,
        "timeout": timeout,
    }
    helper = subprocess.run(
        [sys.executable, "-c", _MEASURE_CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(helper.stdout)
    return Measurement(
        rc=int(data["rc"]),
        seconds=float(data["seconds"]),
        peak_mb=int(data["maxrss_kb"]) / 1024.0,  # Linux reports kilobytes
        cpu_seconds=float(data["cpu_seconds"]),
        timed_out=bool(data["timed_out"]),
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine_description() -> dict[str, str]:
    """nproc, CPU model name and total memory, for the README figures."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_revision() -> str:
    """The commit the benchmark ran on, with `+dirty` when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=REPO_ROOT
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain fixed-width table: first column left-aligned, the rest right-aligned."""
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells))

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))
