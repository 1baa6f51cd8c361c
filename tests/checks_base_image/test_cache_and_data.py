"""Speed and data: a warm digest cache saves requests and bytes; options merge; `gates data update`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gates.checks import load_config as load
from gates.checks.base_image.gate import scan
from gates.checks.base_image.options import BaseImageOptions, Overrides, build_options
from gates.distro import eol_build
from gates.distro.eol import load_preferred, user_data_file
from gates.model import Outcome, Severity
from gates.oci.cache import DigestCache
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from tests.checks_base_image.images import NOW, World
from tests.conftest import CliRun, require_corpus
from tests.oci.conftest import FaultProxy, ProxyRequest

Cli = Callable[[Sequence[str]], CliRun]
TODAY = dt.date.fromisoformat(NOW)


def _counting(proxy: FaultProxy, tally: dict[str, int]) -> None:
    def after(request: ProxyRequest, status: int, headers: dict[str, str], body: bytes
              ) -> tuple[int, dict[str, str], bytes]:
        tally["bytes"] += len(body) if request.method != "HEAD" else 0
        if request.method == "GET" and "/blobs/" in request.path:
            key = request.path.rsplit("/", 1)[-1]
            tally[key] = tally.get(key, 0) + 1
        return status, headers, body

    proxy.after = after


def test_warm_cache_fetches_fewer_requests_and_bytes(tmp_path: Path, world: World,
                                                     fault_proxy: Callable[[], FaultProxy]) -> None:
    proxy = fault_proxy()
    images = tuple(name.replace(world.registry, proxy.host, 1)
                   for name in (world.app_old, world.app_current, world.app_distroless, world.app_alpine))
    options = BaseImageOptions(images=images, advisories=require_corpus("osv", "records"), today=TODAY,
                               now=dt.datetime.combine(TODAY, dt.time(), dt.timezone.utc))
    measured = []
    for _ in ("cold", "warm"):
        tally = {"bytes": 0}
        _counting(proxy, tally)
        with RegistryClient(StaticCredentials({}), cache=DigestCache(tmp_path / "cache")) as client:
            results = scan(options, client)
            measured.append((client.request_count, tally))
        assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.PASSED, Outcome.FAILED, Outcome.FAILED]
    (cold_requests, cold), (warm_requests, warm) = measured
    blob_gets = {k: v for k, v in cold.items() if k.startswith("sha256:")}
    assert blob_gets and max(blob_gets.values()) == 1  # every blob at most once per run
    assert not any(k.startswith("sha256:") for k in warm)  # warm: no blob is fetched again
    assert warm_requests < cold_requests and warm["bytes"] < cold["bytes"]
    print(f"\nbase-image, {len(images)} images: cold {cold_requests} requests / {cold['bytes']} bytes through "
          f"the image registry; warm {warm_requests} requests / {warm['bytes']} bytes")


def test_no_layer_is_fetched_when_no_check_needs_one(world: World, fault_proxy: Callable[[], FaultProxy]) -> None:
    proxy = fault_proxy()
    tally = {"bytes": 0}
    _counting(proxy, tally)
    skip = frozenset({"base-image-os-eol", "base-image-os-unknown", "base-image-point-release-lag",
                      "base-image-rolling-stale"})
    options = BaseImageOptions(images=(world.app_old.replace(world.registry, proxy.host, 1),), skip_rules=skip,
                               today=TODAY)
    with RegistryClient(StaticCredentials({}), cache=DigestCache()) as client:
        [result] = scan(options, client)
    assert result.outcome is Outcome.FAILED  # base age still judged, from manifests and configs only
    assert len([k for k in tally if k.startswith("sha256:")]) == 1  # the config blob, no layer


def test_options_merge_file_flags_and_paths(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(
        '[registry]\nconcurrency = 3\n[base-image]\nimages = ["a:1"]\ndockerfile = "build/Dockerfile"\n'
        'allowed = ["docker.io/library/*"]\neol-data = "data/eol.json"\n[patch-level]\nadvisories = "osv"\n'
        'min-severity = "medium"\n', encoding="utf-8")
    config = load(tmp_path / "gates.toml", env={})

    def options(flags: Overrides | None = None) -> BaseImageOptions:
        return build_options(config.section("base-image"), config.section("patch-level"),
                             config.section("registry"), config_dir=tmp_path, today=TODAY, injected_today=True,
                             flags=flags)

    plain = options()
    assert plain.images == ("a:1",) and plain.dockerfile == tmp_path / "build" / "Dockerfile"
    assert plain.advisories == tmp_path / "osv" and plain.eol_data == tmp_path / "data" / "eol.json"
    assert plain.min_severity is Severity.MEDIUM and plain.concurrency == 3 and plain.max_age_days == 90
    assert plain.instant == dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    flagged = options(Overrides(images=("b:2",), max_age_days=7, allowed=("ghcr.io/*",), ignore_unfixed=True))
    assert (flagged.images, flagged.max_age_days, flagged.allowed, flagged.ignore_unfixed) == (
        ("b:2",), 7, ("ghcr.io/*",), True)


def test_data_update_from_a_folder_is_preferred_when_newer(cli: Cli, tmp_path: Path) -> None:
    source = require_corpus("eol", "endoflife.date-products")
    run = cli(["data", "update", "--source", str(source), "--now", "2026-12-01"])
    assert run.code == 0, run.err
    assert f"wrote {user_data_file()}: 15 products, 237 cycles, generated 2026-12-01" in run.out
    db, origin = load_preferred()
    assert db.generated == dt.date(2026, 12, 1) and str(user_data_file()) in origin
    older = tmp_path / "older.json"
    assert cli(["data", "update", "--source", str(source), "--now", "2020-01-01", "-o", str(older)]).code == 2
    assert cli(["data", "update", "--source", str(source), "--now", "2020-01-01", "--file", "distro-eol.json",
                "-o", str(older)]).code == 0
    assert json.loads(older.read_text())["generated"] == "2020-01-01"


def test_data_update_refreshes_every_gate_s_data(cli: Cli, tmp_path: Path) -> None:
    """The registry names each gate's data files: the cluster gate's Kubernetes data is refreshed too."""
    from gates.checks.cluster import versions

    pages = tmp_path / "pages"
    pages.mkdir()
    for folder in (require_corpus("eol", "endoflife.date-products"),
                   require_corpus("cluster-config", "endoflife.date-products")):
        for page in folder.glob("*.md"):
            (pages / page.name).write_bytes(page.read_bytes())
    run = cli(["data", "update", "--source", str(pages), "--now", "2026-12-01"])
    assert run.code == 0, run.err
    assert f"wrote {versions.user_data_file()}: 3 products" in run.out
    assert json.loads(versions.user_data_file().read_text())["generated"] == "2026-12-01"
    only = cli(["data", "update", "--source", str(pages), "--now", "2026-12-02", "--file", "cluster-eol.json"])
    assert only.code == 0 and "distro-eol.json" not in only.out
    unknown = cli(["data", "update", "--file", "nope.json"])
    assert unknown.code == 2 and "cluster-eol.json" in unknown.err


def test_data_update_fails_cleanly_offline(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.registry import free_port

    monkeypatch.setattr(eol_build, "RAW_PRODUCT_URL", f"http://127.0.0.1:{free_port()}/{{ref}}/{{name}}.md")
    run = cli(["data", "update"])
    assert run.code == 1 and "Traceback" not in run.err
    assert "cannot fetch" in run.err and "pass --source DIR" in run.err
    assert not user_data_file().exists()
