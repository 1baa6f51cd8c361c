"""Time bounds through the CLI, for the signature and the base-image gate: a registry that never
answers trips a per-host circuit breaker instead of costing every image its retries, the run deadline
turns every unfinished image into an `error`, and a registry that trickles bytes cannot stretch one
request past `request-timeout` (headers, body, or a streamed layer)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.manifest import ImageManifest
from gates.oci.reference import parse_reference
from tests.conftest import run_process
from tests.faults.conftest import GateUnderFault, Proxies, SilentServer
from tests.oci.conftest import ProxyRequest
from tests.oci.tls import loopback_identity

THRESHOLD = 4
"""The transport's default breaker threshold (`RetryPolicy.breaker_threshold`): what the CLI uses."""


def _error(result: dict[str, object], image: str, *fragments: str) -> str:
    assert result["outcome"] == "error", result
    error = str(result["error"])
    assert error.startswith(f"{image}: ") and "\n" not in error, error
    for fragment in fragments:
        assert fragment in error, (fragment, error)
    return error


def test_a_silent_registry_trips_the_breaker_instead_of_costing_every_image_its_retries(
        gate: GateUnderFault, silent: SilentServer) -> None:
    gate.prepare()
    quiet = [f"{silent.host}/quiet/img{i}:1" for i in range(10)]
    healthy = gate.image(gate.registry.host)
    outcome = gate.run_images([healthy, *quiet], config="[registry]\ntimeout = 1\nconcurrency = 2\n")
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]  # another host: still judged
    errors = [_error(result, image) for result, image in zip(outcome.results[1:], quiet, strict=True)]
    tripped = [e for e in errors if f"{silent.host} did not answer (timeout, " in e
               and "not asked again in this run" in e]
    assert len(tripped) >= len(quiet) - 2, errors  # all but the images that tripped it fail at once
    # one round of timeouts in all, not four attempts per image (40 connections before the breaker)
    assert len(silent.accepted) <= THRESHOLD + 2, len(silent.accepted)


def _slow(seconds: float) -> Callable[[ProxyRequest], bool]:
    def hook(req: ProxyRequest) -> bool:
        if req.path != "/v2/":
            time.sleep(seconds)
        return False  # then forwarded to the registry as usual

    return hook


def test_past_the_run_deadline_every_unfinished_image_is_an_error(gate: GateUnderFault,
                                                                  fault_proxy: Proxies) -> None:
    fronts = [fault_proxy() for _ in range(4)]
    for front in fronts:
        front.before = _slow(1.0)
    gate.prepare(*fronts)
    healthy = gate.image(gate.registry.host)
    slow = [gate.image(front.host) for front in fronts]
    outcome = gate.run_images([healthy, *slow],
                              config="[registry]\ndeadline = 2\ntimeout = 10\nconcurrency = 1\n")
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]  # finished before the deadline
    for result, image in zip(outcome.results[1:], slow, strict=True):
        _error(result, image, "the run deadline of 2 s ([registry] deadline) passed")
    assert outcome.seconds < 12, outcome.seconds  # 4 images x at least 3 slow requests: 12 s without it


@pytest.mark.parametrize("key", ["deadline", "request-timeout"])
@pytest.mark.parametrize("value", ["0", "86401", "true", '"60"', "-5"])
def test_time_bounds_out_of_range_are_configuration_errors(tmp_path: Path, key: str, value: str) -> None:
    (tmp_path / "gates.toml").write_text(f"[registry]\n{key} = {value}\n", encoding="utf-8")
    run = run_process(["base-image", "registry.example.com/app:1", "--config", "gates.toml"], cwd=tmp_path,
                      timeout=30)
    assert run.code == 2, (run.code, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "whole number of seconds" in lines[0], run.err
    assert "Traceback" not in run.err


def _trickle(status_line: bool) -> Callable[[ProxyRequest], None]:
    """Answer one byte every half second: from the status line on, or after honest headers."""

    def fault(req: ProxyRequest) -> None:
        handler = req.handler
        if status_line:
            data = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Padding: " + b"p" * 400
        else:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            data = b" " * 100000
        handler.close_connection = True
        for at in range(240):  # two minutes at most: longer than the test lets a run take
            try:
                handler.wfile.write(data[at:at + 1])
                handler.wfile.flush()
            except OSError:
                return  # the client gave up
            time.sleep(0.5)

    return fault


@pytest.mark.parametrize("where", ["status line", "body"])
def test_a_trickling_registry_cannot_stretch_a_request_past_request_timeout(
        gate: GateUnderFault, fault_proxy: Proxies, where: str) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    fault = _trickle(status_line=where == "status line")

    def hook(req: ProxyRequest) -> bool:
        if "/manifests/" in req.path and (req.method == "GET" or where == "status line"):
            fault(req)
            return True
        return False

    proxy.before = hook
    outcome = gate.run(proxy, config="[registry]\ntimeout = 3\nrequest-timeout = 1\n")
    image = gate.image(proxy.host)
    _error(outcome.faulty, image, f"timeout: no complete answer within 1 s from {proxy.host}")
    trickled = [e for e in proxy.seen if "/manifests/" in e.path and e.status == 0]  # answered by the hook
    assert len(trickled) == 1, trickled  # a request that spent its whole budget is not retried
    assert outcome.seconds < 15, outcome.seconds  # each read is quick: only the total can end it


def test_a_trickling_layer_is_cut_at_request_timeout(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    if gate.gate != "base-image":
        pytest.skip("only the base-image gate streams layers")
    proxy = fault_proxy()
    gate.prepare(proxy)
    with RegistryClient(StaticCredentials({})) as client:
        manifest = client.get_manifest(parse_reference(gate.image(gate.registry.host))).parse()
    assert isinstance(manifest, ImageManifest)
    layers = {str(layer.digest) for layer in manifest.layers}
    fault = _trickle(status_line=False)

    def hook(req: ProxyRequest) -> bool:
        if req.method == "GET" and req.path.rsplit("/", 1)[-1] in layers:
            fault(req)
            return True
        return False

    proxy.before = hook
    outcome = gate.run(proxy, config="[registry]\ntimeout = 3\nrequest-timeout = 1\n")
    _error(outcome.faulty, gate.image(proxy.host), "timeout: no complete answer within 1 s")
    assert outcome.seconds < 20, outcome.seconds


@pytest.fixture
def trickling_relay() -> Iterator[Callable[[str], str]]:
    """`relay(upstream)`: a TCP relay to `upstream` that passes what the server says one byte every
    0.2 s (the client's bytes at full speed); returns its `host:port`."""
    listeners: list[socket.socket] = []

    def pump(source: socket.socket, sink: socket.socket, pause: float) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 if pause else 65536):
                sink.sendall(data)
                time.sleep(pause)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def start(upstream: str) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        host, port = upstream.rsplit(":", 1)

        def serve() -> None:
            while True:
                try:
                    client, _ = listener.accept()
                    server = socket.create_connection((host, int(port)))
                except OSError:
                    return
                threading.Thread(target=pump, args=(client, server, 0.0), daemon=True).start()
                threading.Thread(target=pump, args=(server, client, 0.2), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return f"127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()


def test_a_trickled_tls_handshake_is_cut_at_request_timeout(
        gate: GateUnderFault, fault_proxy: Proxies, trickling_relay: Callable[[str], str], tmp_path: Path) -> None:
    identity = loopback_identity(tmp_path / "tls")
    front = fault_proxy(tls=identity)
    relay = trickling_relay(front.host)
    gate.prepare(front)  # signed for the front's name; the relay's name only matters to the base-image gate
    image = f"{relay}/{gate.repository}:1"
    outcome = gate.run_images([image, gate.image(gate.registry.host)],
                              config="[registry]\ntimeout = 3\nrequest-timeout = 1\n",
                              env={"REQUESTS_CA_BUNDLE": str(identity.cert), "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""})
    _error(outcome.results[0], image, f"timeout: no complete answer within 1 s from {relay}")
    assert outcome.results[1]["outcome"] == "passed", outcome.results[1]
    assert outcome.seconds < 20, outcome.seconds  # the certificate alone takes minutes at this pace


def test_a_registry_trickling_its_manifests_trips_the_breaker_too(gate: GateUnderFault,
                                                                  fault_proxy: Proxies) -> None:
    if gate.gate != "base-image":
        pytest.skip("the signature gate resolves with HEAD, which has no body to trickle")
    proxy = fault_proxy()
    gate.prepare(proxy)
    fault = _trickle(status_line=False)  # honest headers, then one byte every half second

    def hook(req: ProxyRequest) -> bool:
        if "/manifests/" in req.path:
            fault(req)
            return True
        return False

    proxy.before = hook
    quiet = [f"{proxy.host}/quiet/img{i}:1" for i in range(10)]
    outcome = gate.run_images([gate.image(gate.registry.host), *quiet],
                              config="[registry]\ntimeout = 3\nrequest-timeout = 1\nconcurrency = 1\n")
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    errors = [_error(result, image) for result, image in zip(outcome.results[1:], quiet, strict=True)]
    print(outcome.run.err)
    assert all("not asked again in this run" in e for e in errors[THRESHOLD:]), errors
    assert len(proxy.seen) == THRESHOLD, proxy.seen

