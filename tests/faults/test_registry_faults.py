"""Registry faults through the CLI, for the signature and the base-image gate: a real registry, a fault
proxy in front of it, `gates` as a real process. Transient faults are retried to the right outcome
(`passed`), persistent ones end as one `error` line naming the image after bounded attempts and time,
and the image read directly in the same run is always judged."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.faults.conftest import GateUnderFault, Proxies, basic_auth
from tests.oci.conftest import ProxyRequest

Hook = Callable[[ProxyRequest], bool]
ATTEMPTS = 4
"""The transport's default attempts (`RetryPolicy.attempts`): what the CLI uses."""


def _first(count: int, fault: Callable[[ProxyRequest], None], where: str = "/v2/") -> tuple[Hook, list[int]]:
    """A hook that applies `fault` to the first `count` requests whose path contains `where`."""
    done = [0]

    def hook(req: ProxyRequest) -> bool:
        if where in req.path and req.path != "/v2/" and done[0] < count:
            done[0] += 1
            fault(req)
            return True
        return False

    return hook, done


def _stall(seconds: float) -> Callable[[ProxyRequest], None]:
    def fault(req: ProxyRequest) -> None:
        time.sleep(seconds)
        req.reset()

    return fault


def _one_error_line(gate: GateUnderFault, result: dict[str, object], *fragments: str) -> str:
    assert result["outcome"] == "error", result
    error = str(result["error"])
    assert error.startswith(gate.image(error.split("/", 1)[0]) + ": "), error
    assert "\n" not in error, error
    for fragment in fragments:
        assert fragment in error, (fragment, error)
    return error


def test_a_read_that_times_out_once_is_retried(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _first(1, _stall(2.0), "/manifests/")
    outcome = gate.run(proxy, config="[registry]\ntimeout = 1\n")
    assert done == [1] and outcome.faulty["outcome"] == "passed", outcome.faulty


def test_a_registry_that_always_times_out_is_an_error_in_bounded_time(gate: GateUnderFault,
                                                                      fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _first(10**6, _stall(1.5), "/manifests/")
    outcome = gate.run(proxy, config="[registry]\ntimeout = 1\n")
    _one_error_line(gate, outcome.faulty, "timeout", f"after {ATTEMPTS} attempts")
    assert done[0] == ATTEMPTS  # bounded retries: exactly the policy's attempts, then give up
    assert outcome.seconds < 25, outcome.seconds


def test_reset_connections_are_retried_then_given_up(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    flaky, always = fault_proxy(), fault_proxy()
    gate.prepare(flaky, always)
    flaky.before, done = _first(2, ProxyRequest.reset)
    assert gate.run(flaky).faulty["outcome"] == "passed"
    assert done == [2]
    always.before, tries = _first(10**6, ProxyRequest.reset)
    outcome = gate.run(always)
    _one_error_line(gate, outcome.faulty, "connection", f"after {ATTEMPTS} attempts")
    assert tries[0] == ATTEMPTS and outcome.seconds < 20


def test_500_then_200_passes_after_one_retry(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _first(1, lambda req: req.respond(500, body=b'{"errors":[{"code":"UNKNOWN"}]}'),
                                "/manifests/")
    outcome = gate.run(proxy)
    assert done == [1] and outcome.faulty["outcome"] == "passed", outcome.faulty
    statuses = [e.status for e in proxy.seen if "/manifests/" in e.path]
    assert statuses[0] == 0 and 200 in statuses[1:]  # answered by the hook, then the registry's own 200


def test_persistent_503_is_an_error_after_bounded_attempts(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _first(10**6, lambda req: req.respond(503), "/manifests/")
    outcome = gate.run(proxy)
    _one_error_line(gate, outcome.faulty, "HTTP 503", f"after {ATTEMPTS} attempts")
    assert done[0] == ATTEMPTS and outcome.seconds < 20


def test_429_with_retry_after_is_honoured(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    proxy.before, done = _first(1, lambda req: req.respond(429, {"Retry-After": "2"}), "/manifests/")
    outcome = gate.run(proxy)
    assert done == [1] and outcome.faulty["outcome"] == "passed", outcome.faulty
    waits = [e for e in proxy.seen if "/manifests/" in e.path]
    assert len(waits) >= 2
    assert outcome.seconds >= 2.0  # the registry asked for two seconds and got them


def test_manifest_bytes_that_do_not_match_the_digest_are_an_error(gate: GateUnderFault,
                                                                   fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)
    target = ".sig" if gate.gate == "signature" else "/manifests/1"

    def tamper(req: ProxyRequest, status: int, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        # what each gate reads the bytes of: the image manifest (base-image), the `.sig` manifest (signature,
        # which resolves the image's digest with HEAD and never needs its bytes); the digest header stays real
        if req.path.endswith(target) and req.method == "GET" and body:
            body = body.replace(b'"schemaVersion":2', b'"schemaVersion": 2', 1)
        return status, headers, body

    proxy.after = tamper
    outcome = gate.run(proxy)
    _one_error_line(gate, outcome.faulty, "but the bytes it served hash to")


def test_blob_bytes_that_do_not_match_their_digest_never_pass(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    proxy = fault_proxy()
    gate.prepare(proxy)

    def tamper(req: ProxyRequest, status: int, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        if "/blobs/" in req.path and body:
            body = body[:-1] + bytes([body[-1] ^ 1])
        return status, headers, body

    proxy.after = tamper
    outcome = gate.run(proxy)
    assert outcome.faulty["outcome"] in ("error", "failed"), outcome.faulty
    text = str(outcome.faulty["error"]) + " ".join(str(f["message"]) for f in outcome.faulty["findings"])
    assert "digest" in text or "does not hash" in text, text


def test_credentials_do_not_follow_a_blob_redirected_to_another_host(gate: GateUnderFault,
                                                                     fault_proxy: Proxies) -> None:
    storage, front = fault_proxy(), fault_proxy()  # storage: another origin, e.g. a CDN or bucket
    gate.prepare(front)
    secret = "s3cr3t-front-password"
    expected = basic_auth("alice", secret)

    def gatekeeper(req: ProxyRequest) -> bool:
        if req.headers.get("Authorization") != expected:
            req.respond(401, {"WWW-Authenticate": 'Basic realm="front"'})
            return True
        if "/blobs/" in req.path and req.method == "GET":
            req.respond(307, {"Location": f"http://{storage.host}{req.path}?X-Signature=abc"})
            return True
        return False

    front.before = gatekeeper
    outcome = gate.run(front, docker_auths={front.host: {"username": "alice", "password": secret}})
    assert outcome.faulty["outcome"] == "passed", outcome.faulty
    assert any(e.headers.get("Authorization") == expected for e in front.seen)
    blobs = [e for e in storage.seen if "/blobs/" in e.path]
    assert blobs, "the redirected blobs were fetched from the storage host"
    for exchange in storage.seen:  # what the other host received: no credentials of any kind
        assert "Authorization" not in exchange.headers and "authorization" not in exchange.headers
        assert secret not in repr(exchange.headers) and secret not in exchange.path
    assert secret not in outcome.run.out + outcome.run.err


def test_token_endpoint_errors_are_one_error_line(gate: GateUnderFault, fault_proxy: Proxies) -> None:
    tokens, front = fault_proxy(), fault_proxy()
    gate.prepare(front)
    answers: dict[str, tuple[int, bytes]] = {"now": (500, b"internal error")}

    def token_service(req: ProxyRequest) -> bool:
        status, body = answers["now"]
        req.respond(status, {"Content-Type": "application/json"}, body)
        return True

    def bearer(req: ProxyRequest) -> bool:
        if not req.headers.get("Authorization", "").startswith("Bearer "):
            req.respond(401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token",service="front"'})
            return True
        return False

    tokens.before, front.before = token_service, bearer
    down = gate.run(front)
    _one_error_line(gate, down.faulty, f"token service {tokens.host} answered HTTP 500")
    answers["now"] = (200, b"<html>not a token</html>")
    garbage = gate.run(front)
    _one_error_line(gate, garbage.faulty, "not JSON")
    answers["now"] = (200, b'{"expires_in": 60}')
    empty = gate.run(front)
    _one_error_line(gate, empty.faulty, "without a token")
    assert len(tokens.seen) <= 3 * 2  # no retry storm against a broken token service
    for run in (down, garbage, empty):
        assert run.seconds < 20
