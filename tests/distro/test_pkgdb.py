"""Package databases: every one in the corpus is read; broken entries are named, never skipped silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gates.distro.pkgdb import (
    DPKG_STATUS,
    PackageDBError,
    PackageManager,
    is_package_db_path,
    is_status_d_entry,
    parse_apk_installed,
    parse_dpkg_status,
    parse_dpkg_status_dir,
    read_package_db,
)
from tests.distro.corpus import corpus_path


def _txtar(path: Path) -> dict[str, bytes]:
    """Sections of a Go txtar archive (`-- name --` headers)."""
    sections: dict[str, bytes] = {}
    current: str | None = None
    for line in path.read_bytes().splitlines(keepends=True):
        match = re.match(rb"^-- (.+) --\r?\n?$", line)
        if match:
            current = match.group(1).decode()
            sections[current] = b""
        elif current is not None:
            sections[current] += line
    return sections


def test_trivy_valid_ubuntu_status() -> None:
    data = _txtar(corpus_path("extras", "pkgdb", "trivy", "dpkg", "valid.txtar"))[DPKG_STATUS]
    db = parse_dpkg_status(data)
    # 91 entries, one `deinstall ok config-files` whose files are gone
    assert len(db.packages) == 90
    by_name = {p.name: p for p in db.packages}
    fdisk = by_name["fdisk"]
    assert (fdisk.source_name, fdisk.version, fdisk.arch) == ("util-linux", "2.31.1-0.4ubuntu3.1", "amd64")
    assert fdisk.location == f"{DPKG_STATUS}:1"
    assert all(p.manager is PackageManager.DPKG for p in db.packages)


def test_txtar_and_extracted_copies_agree() -> None:
    base = corpus_path("extras", "pkgdb", "trivy", "dpkg")
    for archive in sorted(base.glob("*.txtar")):
        section = _txtar(archive)[DPKG_STATUS]
        extracted = base / f"{archive.stem}.extracted" / DPKG_STATUS
        assert section == extracted.read_bytes(), archive.name


def test_source_with_version_in_parentheses() -> None:
    status = corpus_path("extras", "pkgdb", "trivy", "dpkg", "corrupsed.extracted", DPKG_STATUS)
    db = parse_dpkg_status(status.read_bytes(), strict=False)
    libgcc = next(p for p in db.packages if p.name == "libgcc1")
    assert (libgcc.source_name, libgcc.source_version, libgcc.version) == (
        "gcc-5",
        "5.1.1-12ubuntu1",
        "1:5.1.1-12ubuntu1",
    )
    assert sorted(p.name for p in db.packages) == ["libgcc1", "libpam-modules-bin", "libpam-runtime", "makedev"]
    assert db.problems == (
        f"{DPKG_STATUS}:63: package brokenPackageWithNoVersionThatShouldGetThrownOut has no Version",
        f"{DPKG_STATUS}:85: package invalidpkg: invalid dpkg version '1:5.#'",
    )


def test_broken_entry_is_a_one_line_error_naming_file_and_line() -> None:
    status = corpus_path("extras", "pkgdb", "trivy", "dpkg", "corrupsed.extracted", DPKG_STATUS)
    with pytest.raises(PackageDBError) as caught:
        parse_dpkg_status(status.read_bytes())
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{DPKG_STATUS}:63: ") and message.endswith("(and 1 more)")


def test_trivy_apk_with_broken_entry() -> None:
    data = corpus_path("extras", "pkgdb", "trivy", "apk", "installed").read_bytes()
    db = parse_apk_installed(data, strict=False)
    assert len(db.packages) == 15
    assert db.problems == ("lib/apk/db/installed:23: package invalidPackageWithoutAVersion has no version (V:)",)
    musl = next(p for p in db.packages if p.name == "musl")
    assert (musl.version, musl.source_name) == ("1.1.14-r10", "musl")
    with pytest.raises(PackageDBError, match=r"^lib/apk/db/installed:23: "):
        parse_apk_installed(data)


def test_apk_origin_is_the_source_package() -> None:
    path = corpus_path("extras", "pkgdb", "syft", "alpine", "testdata", "multiple-2", "lib", "apk", "db", "installed")
    db = parse_apk_installed(path.read_bytes())
    assert len(db.packages) == 14
    origins = {p.name: p.source_name for p in db.packages}
    assert origins["alpine-baselayout-data"] == "alpine-baselayout"
    assert any(name != origin for name, origin in origins.items())


def test_distroless_status_d() -> None:
    base = corpus_path("extras", "pkgdb", "syft", "debian", "testdata", "image-distroless-deb")
    files = {str(p.relative_to(base)): p.read_bytes() for p in (base / "var/lib/dpkg/status.d").iterdir()}
    assert "var/lib/dpkg/status.d/libsqlite3-0.md5sums" in files
    db = parse_dpkg_status_dir(files)
    assert db.files == ("var/lib/dpkg/status.d/libsqlite3-0",)
    assert [p.name for p in db.packages] == ["libsqlite3-0"]
    assert read_package_db(files) == db


def test_deinstalled_package_is_not_installed() -> None:
    path = corpus_path("extras", "pkgdb", "syft", "debian", "testdata", "var/lib/dpkg/status.d/deinstall")
    db = parse_dpkg_status(path.read_bytes(), "var/lib/dpkg/status.d/deinstall")
    assert [(p.name, p.source_name) for p in db.packages] == [("linux-image-6.14.0-1012-aws", "linux-signed-aws-6.14")]


# Every database file in the corpus: clean ones parse strictly; broken ones name file and line.
_EXPECTED_PROBLEM_LINES: dict[str, list[int]] = {
    "syft/alpine/testdata/corrupt/lib/apk/db/installed": [1],
    "syft/alpine/testdata/glob-paths/lib/apk/db/installed": [1],
    "syft/debian/testdata/glob-paths/usr/lib/dpkg/status": [1],
    "syft/debian/testdata/glob-paths/usr/lib/dpkg/status.d/pkg-1.0": [1],
    "syft/debian/testdata/glob-paths/var/lib/dpkg/status": [1],
    "syft/debian/testdata/glob-paths/var/lib/dpkg/status.d/pkg-1.0": [1],
    "syft/debian/testdata/image-dpkg/var/lib/dpkg/status": [1],
    "syft/debian/testdata/var/lib/dpkg/status.d/corrupt": [5],
    "syft/debian/testdata/var/lib/dpkg/status.d/doc-examples": [25, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46],
    "syft/debian/testdata/var/lib/dpkg/status.d/empty": [1],
    "syft/debian/testdata/var/lib/dpkg/status.d/libpam-runtime": [15, 17, 19, 21, 23],
    "syft/debian/testdata/var/lib/dpkg/status.d/multiple": [1, 3],
    "trivy/apk/installed": [23],
    "trivy/dpkg/corrupsed.extracted/var/lib/dpkg/status": [63, 85],
}


def _databases(root: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        if rel.endswith("lib/dpkg/status") or (
            "/dpkg/status.d/" in rel and is_status_d_entry("var/lib/dpkg/status.d/" + path.name)
        ):
            found.append((rel, "dpkg"))
        elif rel.endswith(("lib/apk/db/installed", "apk/installed")) or (
            "alpine/testdata/" in rel and rel.count("/") == 3
        ):
            found.append((rel, "apk"))
    return found


def test_every_corpus_database() -> None:
    root = corpus_path("extras", "pkgdb")
    databases = _databases(root)
    assert len(databases) == 30
    clean = 0
    total = 0
    for rel, kind in databases:
        data = (root / rel).read_bytes()
        parse = parse_dpkg_status if kind == "dpkg" else parse_apk_installed
        db = parse(data, rel, strict=False)
        lines = [int(p.split(":")[1]) for p in db.problems]
        assert lines == _EXPECTED_PROBLEM_LINES.get(rel, []), rel
        assert all(p.startswith(f"{rel}:") and "\n" not in p for p in db.problems)
        if not db.problems:
            assert parse(data, rel).packages == db.packages
            clean += 1
        else:
            with pytest.raises(PackageDBError, match=rf"^{re.escape(rel)}:\d+: "):
                parse(data, rel)
        total += len(db.packages)
    assert clean == 30 - len(_EXPECTED_PROBLEM_LINES)
    assert total == 161


def test_dpkg_syntax_errors() -> None:
    cases = {
        "  Package: apt\n\n": "continuation line outside a field",
        "Package: apt\nPackage: apt-get\n\n": "field 'Package' repeated",
        "Package: apt\nVersion: 1.0\nStatus: install ok\n": "malformed Status",
        "Package: apt\nVersion: 1.0\nSource: a b c\n": "malformed Source",
    }
    for text, message in cases.items():
        with pytest.raises(PackageDBError, match=message):
            parse_dpkg_status(text)


def test_read_package_db_selects_and_refuses_ambiguity() -> None:
    dpkg = b"Package: a\nStatus: install ok installed\nVersion: 1.0-1\n"
    apk = b"P:b\nV:1.0-r0\n"
    assert is_package_db_path("/var/lib/dpkg/status") and not is_package_db_path("etc/passwd")
    assert not is_package_db_path("var/lib/dpkg/status.d/a.md5sums")
    assert read_package_db({"etc/passwd": b""}) is None
    only_dpkg = read_package_db({DPKG_STATUS: dpkg})
    assert only_dpkg is not None and only_dpkg.manager is PackageManager.DPKG
    only_apk = read_package_db({"lib/apk/db/installed": apk})
    assert only_apk is not None and only_apk.manager is PackageManager.APK
    with pytest.raises(PackageDBError, match="both"):
        read_package_db({DPKG_STATUS: dpkg, "lib/apk/db/installed": apk})
