"""`gates data update --osv`: OSV zips fetched from a loopback HTTP server serving the corpus records.

Every bad download (a stall, a cut body, a zip bomb, a member path that escapes, not a zip, over the
size limit, an HTTP error) is one line, exit 1, and the zip downloaded before stays byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gates.distro import osv_data
from gates.distro.advisories import AdvisoryIndex
from tests.conftest import CliRun, require_corpus
from tests.support.osv_server import Answer, OsvServer, corpus_zip, osv_server, zip_of

server = osv_server

Cli = Callable[[Sequence[str]], CliRun]


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "gates" / "osv"


def _update(cli: Cli, server: OsvServer, *ecosystems: str, extra: Sequence[str] = ()) -> CliRun:
    argv = ["data", "update", "--osv-url", server.url, "--now", "2026-12-01", *extra]
    for ecosystem in ecosystems:
        argv += ["--osv", ecosystem]
    return cli(argv)


def test_download_keeps_the_zip_and_an_integrity_record_the_index_reads(cli: Cli, server: OsvServer,
                                                                       data_home: Path) -> None:
    debian, debian_count = corpus_zip("Debian")
    alpine, alpine_count = corpus_zip("Alpine")
    server.answers = {"/Debian/all.zip": Answer(debian), "/Alpine/all.zip": Answer(alpine)}
    run = _update(cli, server, "Debian", "Alpine")
    assert run.code == 0, run.err
    assert server.requests == ["/Debian/all.zip", "/Alpine/all.zip"]
    target = data_home / "Debian" / "all.zip"
    assert target.read_bytes() == debian
    record = json.loads((data_home / "Debian" / osv_data.RECORD_NAME).read_text())
    assert record == {"ecosystem": "Debian", "url": f"{server.url}/Debian/all.zip", "size": len(debian),
                      "sha256": hashlib.sha256(debian).hexdigest(), "downloaded": "2026-12-01",
                      "records": debian_count, "last_modified": "Tue, 01 Dec 2026 10:00:00 GMT"}
    assert f"{target}: {debian_count} OSV records of Debian" in run.out

    index, origins = osv_data.load_advisories(None, True, data_home)
    assert index.count == debian_count + alpine_count
    assert index.count == AdvisoryIndex.load(require_corpus("osv", "records")).count - 4  # the 4 Ubuntu ones
    assert origins["debian"].startswith(f"OSV data {target} (Debian, downloaded 2026-12-01, {debian_count} records")


def _assert_old_data_kept(run: CliRun, folder: Path, old: bytes, *needles: str) -> None:
    assert run.code == 1, run.out
    assert "Traceback" not in run.err
    [line] = run.err.strip().splitlines()
    for needle in needles:
        assert needle in line, line
    assert (folder / "Debian" / "all.zip").read_bytes() == old
    osv_data.read_integrity(folder / "Debian" / "all.zip")  # still matches its record
    assert sorted(p.name for p in (folder / "Debian").iterdir()) == ["all.zip", osv_data.RECORD_NAME]


def _bomb() -> bytes:
    return zip_of({"DSA-1.json": b'{"id": "DSA-1", "affected": []' + b" " * (64 * 1024 * 1024) + b"}"})


def _escaping() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("DSA-1.json", b'{"id": "DSA-1", "affected": []}')
        archive.writestr(zipfile.ZipInfo("../../outside.json"), b'{"id": "X", "affected": []}')
    return buffer.getvalue()


@pytest.mark.parametrize(("answer", "needles"), [
    pytest.param(lambda good: Answer(good, stall=3.0), ("no answer within 0.5 s",), id="timeout"),
    pytest.param(lambda good: Answer(good[: len(good) // 2], length=len(good)), ("truncated download",),
                 id="truncated"),
    pytest.param(lambda good: Answer(_bomb()), ("DSA-1.json", "over the", "zip bomb"), id="zip-bomb"),
    pytest.param(lambda good: Answer(_escaping()), ("'../../outside.json'", "escapes the data folder"),
                 id="escaping-member"),
    pytest.param(lambda good: Answer(b"<html>not found</html>"), ("not a zip archive",), id="not-a-zip"),
    pytest.param(lambda good: Answer(good[:-30]), ("not a zip archive",), id="cut-short-without-length"),
    pytest.param(lambda good: Answer(b"x" * 5000), ("over the 4096 byte limit",), id="too-large"),
    pytest.param(lambda good: Answer(b"", status=503), ("HTTP 503",), id="server-error"),
    pytest.param(lambda good: Answer(zip_of({"DSA-1.json": b"[1, 2]"})), ("not an OSV record",), id="not-osv"),
])
def test_a_bad_download_is_one_line_and_keeps_the_old_data(
        cli: Cli, server: OsvServer, data_home: Path, answer: Callable[[bytes], Answer],
        needles: tuple[str, ...]) -> None:
    good, _ = corpus_zip("Debian")
    server.answers = {"/Debian/all.zip": Answer(good)}
    assert _update(cli, server, "Debian").code == 0
    bad = answer(good)
    server.answers = {"/Debian/all.zip": bad}
    limit = ["--osv-max-bytes", "4096"] if len(bad.body) == 5000 else []
    run = _update(cli, server, "Debian", extra=["--osv-timeout", "0.5", *limit])
    _assert_old_data_kept(run, data_home, good, f"{server.url}/Debian/all.zip", *needles)


def test_one_failed_ecosystem_does_not_stop_the_others(cli: Cli, server: OsvServer, data_home: Path) -> None:
    alpine, _ = corpus_zip("Alpine")
    server.answers = {"/Alpine/all.zip": Answer(alpine)}
    run = _update(cli, server, "Nope", "Alpine")
    assert run.code == 1
    assert "HTTP 404" in run.err and "/Nope/all.zip" in run.err
    assert (data_home / "Alpine" / "all.zip").read_bytes() == alpine
    assert not (data_home / "Nope" / "all.zip").exists()


@pytest.mark.parametrize("name", ["../etc", "Debian/../../x", "a/b", "", "-x"])
def test_an_ecosystem_that_is_not_a_folder_name_is_refused(cli: Cli, server: OsvServer, data_home: Path,
                                                           name: str) -> None:
    run = _update(cli, server, name)
    assert run.code == 2 and "not an OSV ecosystem name" in run.err
    assert server.requests == []


def test_a_zip_changed_after_download_is_refused_when_read(cli: Cli, server: OsvServer, data_home: Path) -> None:
    good, _ = corpus_zip("Debian")
    server.answers = {"/Debian/all.zip": Answer(good)}
    assert _update(cli, server, "Debian").code == 0
    other, _ = corpus_zip("Alpine")
    (data_home / "Debian" / "all.zip").write_bytes(other)
    with pytest.raises(osv_data.OsvDataError, match="does not match its integrity record"):
        osv_data.load_advisories(None, True, data_home)
    (data_home / "Debian" / osv_data.RECORD_NAME).unlink()
    with pytest.raises(osv_data.OsvDataError, match="no integrity record"):
        osv_data.load_advisories(None, True, data_home)


def test_nothing_downloaded_is_an_error_not_an_empty_database(data_home: Path) -> None:
    with pytest.raises(osv_data.OsvDataError, match="no OSV data downloaded"):
        osv_data.load_advisories(None, True, data_home)


def test_osv_flags_do_not_mix_with_the_end_of_life_ones(cli: Cli, server: OsvServer, tmp_path: Path) -> None:
    mixed = cli(["data", "update", "--osv", "Debian", "--source", str(tmp_path)])
    assert mixed.code == 2 and "--osv downloads OSV advisories only" in mixed.err
    alone = cli(["data", "update", "--osv-url", server.url])
    assert alone.code == 2 and "need --osv ECOSYSTEM" in alone.err
    assert server.requests == []


def test_command_line_mistakes_are_usage_errors_before_any_download(cli: Cli, server: OsvServer,
                                                                    data_home: Path) -> None:
    mixed = _update(cli, server, "Alpine", "../etc")
    assert mixed.code == 2 and mixed.err.count("\n") == 1 and "not an OSV ecosystem name" in mixed.err, mixed.err
    not_http = cli(["data", "update", "--osv", "Alpine", "--osv-url", "file:///etc"])
    assert not_http.code == 2 and "not an http(s) URL" in not_http.err, not_http.err
    assert server.requests == [] and not (data_home / "Alpine").exists()
