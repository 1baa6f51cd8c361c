"""Base-image gate benchmark: requests and bytes per image, cold and warm digest cache (issue 4, Speed).

    python bench/base_image.py [--json PATH]

Starts Debian's `docker-registry` on 127.0.0.1 (as the tests do), pushes the test images of
tests/checks_base_image (an old Debian 9 app, a current two-platform Debian 13 app, a distroless-style
app, an Alpine app), and puts a counting proxy in front of the registry. Each image is then judged
twice by the gate with one on-disk cache directory of its own: cold (empty cache), then warm. For
each run: registry requests (the client's count, retries included), HTTP exchanges and response bytes
seen by the proxy, blob GETs, and wall time. With the shared corpus present, package patch level is
checked against its OSV records too (it changes nothing on the wire: the same layers are read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _harness import WORK_DIR, gates_corpus, git_revision, machine_description, print_table  # noqa: E402

from gates.checks.base_image.gate import scan  # noqa: E402
from gates.checks.base_image.options import BaseImageOptions  # noqa: E402
from gates.oci.cache import DigestCache  # noqa: E402
from gates.oci.client import RegistryClient  # noqa: E402
from gates.oci.credentials import StaticCredentials  # noqa: E402
from tests.checks_base_image.images import NOW, build_world  # noqa: E402
from tests.oci.conftest import FaultProxy, ProxyRequest, _handler  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402


@dataclass
class Tally:
    """What the proxy saw during one run."""

    exchanges: int = 0
    bytes: int = 0
    blob_gets: int = 0
    layer_bytes: int = 0


@dataclass(frozen=True)
class Measure:
    image: str
    phase: str
    requests: int
    exchanges: int
    bytes: int
    blob_gets: int
    seconds: float
    outcome: str


def _start_proxy(upstream: str) -> tuple[FaultProxy, http.server.ThreadingHTTPServer]:
    proxy = FaultProxy(upstream)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.host = f"127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return proxy, server


def _count(proxy: FaultProxy, tally: Tally) -> None:
    def after(request: ProxyRequest, status: int, headers: dict[str, str], body: bytes
              ) -> tuple[int, dict[str, str], bytes]:
        tally.exchanges += 1
        tally.bytes += len(body) if request.method != "HEAD" else 0
        if request.method == "GET" and "/blobs/" in request.path:
            tally.blob_gets += 1
        return status, headers, body

    proxy.after = after


def measure(images: dict[str, str], proxy: FaultProxy, host: str, advisories: Path | None,
            cache_root: Path) -> list[Measure]:
    today = dt.date.fromisoformat(NOW)
    rows: list[Measure] = []
    for label, image in images.items():
        cache = cache_root / label
        for phase in ("cold", "warm"):
            tally = Tally()
            _count(proxy, tally)
            options = BaseImageOptions(images=(image.replace(host, proxy.host, 1),), advisories=advisories,
                                       today=today, now=dt.datetime.combine(today, dt.time(), dt.timezone.utc))
            started = time.perf_counter()
            with RegistryClient(StaticCredentials({}), cache=DigestCache(cache)) as client:
                [result] = scan(options, client)
                requests = client.request_count
            rows.append(Measure(label, phase, requests, tally.exchanges, tally.bytes, tally.blob_gets,
                                time.perf_counter() - started, result.outcome.value))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=WORK_DIR / "base-image-results.json")
    args = parser.parse_args(argv)
    osv = gates_corpus() / "osv" / "records"
    advisories = osv if osv.is_dir() else None
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="base-image-") as scratch:
        root = Path(scratch)
        with start_registry(root / "registry") as registry:
            with RegistryClient(StaticCredentials({})) as pusher:
                world = build_world(pusher, registry.host)
            proxy, server = _start_proxy(registry.host)
            try:
                images = {"debian9-app": world.app_old, "debian13-app (2 platforms)": world.app_current,
                          "distroless-app": world.app_distroless, "alpine-app": world.app_alpine}
                rows = measure(images, proxy, registry.host, advisories, root / "cache")
            finally:
                server.shutdown()
                server.server_close()
    table = []
    by_image: dict[str, dict[str, Measure]] = {}
    for row in rows:
        by_image.setdefault(row.image, {})[row.phase] = row
    for label, phases in by_image.items():
        cold, warm = phases["cold"], phases["warm"]
        table.append([label, cold.outcome, str(cold.requests), str(warm.requests), f"{cold.bytes:,}", f"{warm.bytes:,}",
                      str(cold.blob_gets), str(warm.blob_gets), f"{cold.seconds * 1000:.0f}",
                      f"{warm.seconds * 1000:.0f}", f"{cold.bytes / max(warm.bytes, 1):.0f}x"])
    print(f"base-image gate, {len(by_image)} images, {'with' if advisories else 'without'} OSV advisories; "
          f"registry requests / response bytes / blob GETs / ms, cold vs warm cache")
    print_table(["image", "outcome", "req cold", "req warm", "bytes cold", "bytes warm", "blobs cold", "blobs warm",
                 "ms cold", "ms warm", "bytes cold/warm"], table)
    total = {phase: sum(r.bytes for r in rows if r.phase == phase) for phase in ("cold", "warm")}
    requests = {phase: sum(r.requests for r in rows if r.phase == phase) for phase in ("cold", "warm")}
    print(f"all images: cold {requests['cold']} requests / {total['cold']:,} bytes; "
          f"warm {requests['warm']} requests / {total['warm']:,} bytes")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "revision": git_revision(),
        "machine": machine_description(), "advisories": str(advisories) if advisories else None,
        "rows": [row.__dict__ for row in rows],
    }, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
