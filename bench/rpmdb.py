"""rpm databases: gates' readers vs rpm's own `rpm -qa`, on the corpus's SQLite, BerkeleyDB and NDB files.

    .venv/bin/python bench/rpmdb.py               # every corpus database, 20 reads each (median)
    .venv/bin/python bench/rpmdb.py --repeat 50

Prints packages read and milliseconds per read for gates (in-process, header fields included) and for
rpm (a process per query, `--qf` of the same fields; rpm has no NDB backend on Debian, so NDB is gates
alone). Both lists must agree. Needs the corpus (`$GATES_CORPUS` or ../shared/corpus); rpm optional.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gates.distro.rpmdb import read_rpmdb

CORPUS = Path(os.environ.get("GATES_CORPUS", Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))
CASES = [  # file under rpmdb/, image path, rpm backend (None: rpm cannot read it)
    ("go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite.gz", "var/lib/rpm/rpmdb.sqlite", "sqlite"),
    ("go-rpmdb/sle15-bci/Packages.db", "var/lib/rpm/Packages.db", None),
    ("go-rpmdb/libuuid/Packages", "var/lib/rpm/Packages", "bdb_ro"),
    ("openshift-preflight/bdb/var/lib/rpm/Packages", "var/lib/rpm/Packages", "bdb_ro"),
]
QUERY = "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n"


def _gates(path: str, data: bytes, repeat: int) -> tuple[list[str], float]:
    times, names = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        db = read_rpmdb({path: data})
        times.append(time.perf_counter() - start)
        assert db is not None
        names = sorted(f"{r.header.name}-{r.header.epoch or 0}:{r.header.version}-{r.header.release}."
                       f"{r.header.arch}" for r in db.records)
    return names, statistics.median(times) * 1000


def _rpm(rpm: str, name: str, data: bytes, backend: str, repeat: int) -> tuple[list[str], float]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / Path(name).name).write_bytes(data)
        times, out = [], ""
        for _ in range(repeat):
            start = time.perf_counter()
            out = subprocess.run([rpm, "--dbpath", tmp, "--define", f"_db_backend {backend}", "-qa", "--qf", QUERY],
                                 capture_output=True, text=True, check=True).stdout
            times.append(time.perf_counter() - start)
    return sorted(out.split()), statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rpm = shutil.which("rpm")
    print(f"{'database':48} {'packages':>8} {'gates ms':>9} {'rpm ms':>8}  agree")
    for file, path, backend in CASES:
        raw = (CORPUS / "rpmdb" / file).read_bytes()
        data = gzip.decompress(raw) if file.endswith(".gz") else raw
        ours, ms = _gates(path, data, args.repeat)
        theirs, rpm_ms = (_rpm(rpm, path, data, backend, args.repeat) if rpm and backend else (None, None))
        agree = "-" if theirs is None else ("yes" if theirs == ours else "NO")
        shown = f"{rpm_ms:8.1f}" if rpm_ms is not None else f"{'-':>8}"
        print(f"{file:48} {len(ours):8} {ms:9.2f} {shown}  {agree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
