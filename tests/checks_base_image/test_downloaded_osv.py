"""`[patch-level] downloaded-osv`: the gate judges with the zips `gates data update --osv` downloaded and
names the file and its date in the result; data that does not match its record is an `error`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.checks_base_image.images import NOW, World
from tests.conftest import CliRun
from tests.support.osv_server import Answer, OsvServer, corpus_zip, osv_server

Cli = Callable[[Sequence[str]], CliRun]
server = osv_server


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n[base-image]\nmax-layer-bytes = 8388608\n'
                    '[patch-level]\ndownloaded-osv = true\n', encoding="utf-8")
    return path


def test_downloaded_osv_data_finds_the_unpatched_openssl_and_names_its_file(cli: Cli, tmp_path: Path,
                                                                          world: World, server: OsvServer) -> None:
    debian, count = corpus_zip("Debian")
    server.answers = {"/Debian/all.zip": Answer(debian)}
    assert cli(["data", "update", "--osv", "Debian", "--osv-url", server.url, "--now", "2026-11-30"]).code == 0
    argv = ["base-image", world.app_old, "--config", str(_config(tmp_path)), "--format", "json", "--now", NOW]
    run = cli(argv)
    assert run.code == 1, run.err
    [result] = json.loads(run.out)["results"]
    messages = [f["message"] for f in result["findings"] if f["rule"] == "base-image-vulnerable-package"]
    assert any(m.startswith("openssl 1.1.0l-1~deb9u5 is affected by DLA-3008-1") for m in messages)
    zip_file = tmp_path / "xdg-data" / "gates" / "osv" / "Debian" / "all.zip"
    assert f"OSV data {zip_file} (Debian, downloaded 2026-11-30, {count} records, sha256 " in "\n".join(
        result["details"])

    zip_file.write_bytes(corpus_zip("Alpine")[0])  # changed behind the record's back
    changed = cli(argv)
    assert changed.code == 1
    [result] = json.loads(changed.out)["results"]
    assert result["outcome"] == "error" and "does not match its integrity record" in result["error"]


def test_nothing_downloaded_is_an_error_of_each_image(cli: Cli, tmp_path: Path, world: World) -> None:
    run = cli(["base-image", world.app_old, "--config", str(_config(tmp_path)), "--format", "json", "--now", NOW])
    [result] = json.loads(run.out)["results"]
    assert run.code == 1 and result["outcome"] == "error"
    assert "no OSV data downloaded (gates data update --osv ECOSYSTEM)" in result["error"]
