"""The rpm readers against rpm itself (Debian's rpm 4.18): databases rpm writes, and the corpus's, read
the same by both. rpm builds packages with epochs, `~` and `^` versions and a modularity label that no
corpus database has, and installs them into a fresh SQLite database."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from gates.distro.rpmdb import RpmRecord, parse_rpmdb, read_rpmdb
from tests.distro.corpus import corpus_path

_QUERY = "%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{MODULARITYLABEL}\t%{BUILDTIME}\n"


@pytest.fixture(scope="module")
def rpm() -> str:
    found = shutil.which("rpm")
    if found is None or shutil.which("rpmbuild") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("needs Debian's rpm package under CI (.ci/run installs it)")
        pytest.skip("needs rpm and rpmbuild (Debian package rpm)")
    return found


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, "HOME": os.environ.get("HOME", "/tmp"), "LC_ALL": "C"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rows(text: str) -> list[tuple[str, ...]]:
    return sorted(tuple(line.split("\t")) for line in text.splitlines() if line)


def _ours(records: Sequence[RpmRecord]) -> list[tuple[str, ...]]:
    rows = []
    for record in records:
        h = record.header
        rows.append((h.name, "(none)" if h.epoch is None else str(h.epoch), h.version, h.release, h.arch or "(none)",
                     h.sourcerpm or "(none)", h.modularity_label or "(none)", str(h.build_time)))
    return sorted(rows)


_SPEC = """Name: {name}
{epoch}Version: {version}
Release: {release}
Summary: a package gates reads back
License: MIT
BuildArch: noarch
%description
Built by the tests.
%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {name} > %{{buildroot}}/usr/share/{name}/{name}
%files
/usr/share/{name}/{name}
"""

_PACKAGES = [  # name, epoch, version, release, modularity label
    ("gates-plain", None, "1.0", "1.el9", None),
    ("gates-epoch", 3, "1.0~rc1^git2", "4.el9_2", None),
    ("gates-module", 1, "10.24.0", "1.module+el8.3.0+101+f84c7154", "nodejs:10:8030020201124152102:30b713e6"),
]


@pytest.fixture(scope="module")
def built(rpm: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root whose SQLite rpm database rpm itself wrote, holding `_PACKAGES`."""
    top = tmp_path_factory.mktemp("rpmbuild")
    root = tmp_path_factory.mktemp("root")
    for name, epoch, version, release, label in _PACKAGES:
        spec = top / f"{name}.spec"
        spec.write_text(_SPEC.format(name=name, epoch=f"Epoch: {epoch}\n" if epoch is not None else "",
                                     version=version, release=release), encoding="utf-8")
        defines = ["--define", f"_topdir {top}"] + (["--define", f"modularitylabel {label}"] if label else [])
        _run("rpmbuild", "--quiet", *defines, "-bb", str(spec))
    backend = ["--root", str(root), "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite"]
    _run(rpm, *backend, "--initdb")
    _run(rpm, *backend, "-i", "--justdb", "--nodeps", "--nosignature", *map(str, sorted(top.glob("RPMS/*/*.rpm"))))
    return root


def test_a_database_rpm_wrote_reads_as_rpm_reads_it(rpm: str, built: Path) -> None:
    expected = _rows(_run(rpm, "--root", str(built), "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite",
                          "-qa", "--qf", _QUERY))
    assert [row[0] for row in expected] == sorted(p[0] for p in _PACKAGES)
    data = (built / "var/lib/rpm/rpmdb.sqlite").read_bytes()
    db = read_rpmdb({"var/lib/rpm/rpmdb.sqlite": data})
    assert db is not None and _ours(db.records) == expected
    module = next(r.header for r in db.records if r.header.name == "gates-module")
    assert module.modularity_label == "nodejs:10:8030020201124152102:30b713e6"
    assert next(r.header.evr for r in db.records if r.header.name == "gates-epoch") == "3:1.0~rc1^git2-4.el9_2"


def test_transactions_left_in_the_write_ahead_log_are_read(built: Path, tmp_path: Path) -> None:
    """rpm stopped before its checkpoint leaves packages in `rpmdb.sqlite-wal` only: they count too."""
    source = built / "var/lib/rpm/rpmdb.sqlite"
    blob = sqlite3.connect(source).execute("SELECT blob FROM Packages ORDER BY hnum LIMIT 1").fetchone()[0]
    work = tmp_path / "rpmdb.sqlite"
    shutil.copyfile(source, work)
    writer = sqlite3.connect(work)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    writer.commit()
    main, wal = work.read_bytes(), Path(f"{work}-wal").read_bytes()  # as an image would carry them
    writer.close()
    assert wal
    without = parse_rpmdb("var/lib/rpm/rpmdb.sqlite", main)
    with_log = read_rpmdb({"var/lib/rpm/rpmdb.sqlite": main, "var/lib/rpm/rpmdb.sqlite-wal": wal})
    assert with_log is not None and len(with_log.records) == len(without.records) + 1 == len(_PACKAGES) + 1


@pytest.mark.parametrize(("parts", "backend", "name"), [
    (("go-rpmdb", "cbl-mariner-2.0", "rpmdb.sqlite.gz"), "sqlite", "rpmdb.sqlite"),
    (("openshift-preflight", "sqlite", "var", "lib", "rpm", "rpmdb.sqlite"), "sqlite", "rpmdb.sqlite"),
    (("go-rpmdb", "libuuid", "Packages"), "bdb_ro", "Packages"),
    (("syft", "centos8-dive", "Packages"), "bdb_ro", "Packages"),
    (("osv-scalibr", "Packages_epoch"), "bdb_ro", "Packages"),
    (("openshift-preflight", "bdb", "var", "lib", "rpm", "Packages"), "bdb_ro", "Packages"),
])
def test_corpus_databases_read_as_rpm_reads_them(rpm: str, tmp_path: Path, parts: tuple[str, ...], backend: str,
                                                 name: str) -> None:
    data = corpus_path("rpmdb", *parts).read_bytes()
    data = gzip.decompress(data) if parts[-1].endswith(".gz") else data
    (tmp_path / name).write_bytes(data)
    expected = _rows(_run(rpm, "--dbpath", str(tmp_path), "--define", f"_db_backend {backend}", "-qa", "--qf", _QUERY))
    db = read_rpmdb({f"var/lib/rpm/{name}": data})
    assert db is not None and expected and _ours(db.records) == expected
