"""Faults a real registry will not produce on demand, injected by a proxy in front of the real one."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import Credentials, StaticCredentials
from gates.oci.digest import Digest
from gates.oci.errors import AuthError, DigestMismatchError, RegistryError
from gates.oci.layers import read_files
from gates.oci.manifest import ImageManifest
from gates.oci.reference import Reference, parse_reference
from gates.oci.transport import RetryPolicy, Transport
from tests.oci.conftest import FAST_RETRY, FaultProxy, ProxyRequest
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer

ProxyFactory = Callable[..., FaultProxy]
_counter = iter(range(10**6))


def pushed(registry: RegistryServer, client: RegistryClient) -> tuple[Reference, oi.Image]:
    """An image pushed straight to the registry; returns its repository name (without host) and image."""
    ref = parse_reference(f"{registry.host}/faults/img{next(_counter)}:v1")
    files = [oi.file("etc/os-release", "ID=debian\n"), oi.file("usr/bin/tool", bytes(range(256)) * 64)]
    img = oi.image([oi.layer(files)])
    oi.push_image(client, ref, img)
    return ref, img


def via(proxy: FaultProxy, ref: Reference) -> Reference:
    return parse_reference(f"{proxy.host}/{ref.repository}:{ref.tag}")


def test_a_lying_docker_content_digest_is_an_error(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, _img = pushed(registry, client)
    proxy = fault_proxy()
    liar = str(Digest.of(b"some other manifest"))

    def lie(_: ProxyRequest, status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers["Docker-Content-Digest"] = liar
        return status, headers, body

    proxy.after = lie
    with pytest.raises(DigestMismatchError, match=f"the registry says {liar} but the bytes it served hash to"):
        client.get_manifest(via(proxy, ref))


def test_altered_manifest_bytes_fail_a_fetch_by_digest(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, img = pushed(registry, client)
    proxy = fault_proxy()

    def tamper(_: ProxyRequest, status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers.pop("Docker-Content-Digest", None)
        return status, headers, body.replace(b'"schemaVersion":2', b'"schemaVersion":2 ')

    proxy.after = tamper
    target = via(proxy, ref).with_digest(img.digest)
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as reader, pytest.raises(
        DigestMismatchError, match=f"manifest {target}: the registry served content with digest"
    ):
        reader.get_manifest(target)


def test_altered_blobs_fail_whole_and_streamed_reads(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, _img = pushed(registry, client)
    proxy = fault_proxy()
    manifest = client.get_manifest(ref).parse()
    assert isinstance(manifest, ImageManifest)

    def tamper(
        req: ProxyRequest, status: int, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if "/blobs/" in req.path and body:
            body = body[:-1] + bytes([body[-1] ^ 1])
        return status, headers, body

    proxy.after = tamper
    target = via(proxy, ref)
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as reader:
        with pytest.raises(DigestMismatchError):
            reader.get_blob(target, manifest.config.digest)
        # a layer read through the streaming path: the tampering is caught when the stream ends
        with pytest.raises(DigestMismatchError):
            read_files([reader.layer_opener(target, manifest.layers[0])], ["etc/os-release"])


def test_reset_connections_are_retried(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, img = pushed(registry, client)
    proxy = fault_proxy()
    resets = {"left": 2}

    def flaky(req: ProxyRequest) -> bool:
        if resets["left"] > 0:
            resets["left"] -= 1
            req.reset()
            return True
        return False

    proxy.before = flaky
    assert client.get_manifest(via(proxy, ref)).digest == img.digest
    assert resets["left"] == 0


def test_a_registry_that_keeps_resetting_is_one_clear_error(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, _ = pushed(registry, client)
    proxy = fault_proxy()

    def always(req: ProxyRequest) -> bool:
        req.reset()
        return True

    proxy.before = always
    target = via(proxy, ref)
    with pytest.raises(RegistryError) as caught:
        client.get_manifest(target)
    message = str(caught.value)
    assert message.startswith(f"manifest {target}: ")
    assert "connection" in message and "after 3 attempts" in message
    assert "\n" not in message


def test_429_honours_retry_after_within_its_cap(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, img = pushed(registry, client)
    proxy = fault_proxy()
    answers = iter([("429", "2"), ("503", None)])

    def throttle(req: ProxyRequest) -> bool:
        nxt = next(answers, None)
        if nxt is None:
            return False
        status, retry_after = nxt
        req.respond(int(status), {"Retry-After": retry_after} if retry_after else {})
        return True

    proxy.before = throttle
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01, max_retry_after=1.5)
    with RegistryClient(StaticCredentials({}), retry=policy, sleep=slept.append) as c:
        assert c.get_manifest(via(proxy, ref)).digest == img.digest
    assert slept[0] == 1.5  # Retry-After: 2, capped
    assert 0 < slept[1] <= 0.01  # then the backoff for the 503


def test_persistent_5xx_gives_up(registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory) -> None:
    ref, _ = pushed(registry, client)
    proxy = fault_proxy()

    def down(req: ProxyRequest) -> bool:
        req.respond(502)
        return True

    proxy.before = down
    target = via(proxy, ref)
    with pytest.raises(RegistryError, match=rf"^manifest {target}: HTTP 502 from .* after 3 attempts$"):
        client.get_manifest(target)
    assert sum(1 for e in proxy.seen if e.method == "GET") == 3


def test_credentials_are_not_forwarded_on_a_cross_host_redirect(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, img = pushed(registry, client)
    storage = fault_proxy()  # stands for a blob storage host: another origin
    front = fault_proxy()  # a registry that wants Basic auth and redirects blobs to storage
    secret = "hunter2-front-secret"
    expected = "Basic " + base64.b64encode(f"alice:{secret}".encode()).decode()

    def gatekeeper(req: ProxyRequest) -> bool:
        if req.headers.get("Authorization") != expected:
            req.respond(401, {"WWW-Authenticate": 'Basic realm="front"'})
            return True
        if "/blobs/" in req.path and req.method == "GET":
            req.respond(307, {"Location": f"http://{storage.host}{req.path}?signature=abc"})
            return True
        return False

    front.before = gatekeeper
    creds = StaticCredentials({front.host: Credentials("alice", secret)})
    target = via(front, ref)
    with RegistryClient(creds, retry=FAST_RETRY) as c:
        manifest = c.get_manifest(target).parse()
        assert isinstance(manifest, ImageManifest)
        assert c.get_blob(target, manifest.config.digest) == img.config
        files = read_files([c.layer_opener(target, manifest.layers[0])], ["etc/os-release"])
    assert files["etc/os-release"].data == b"ID=debian\n"
    assert any(e.headers.get("Authorization") == expected for e in front.seen)
    assert len(storage.seen) == 2
    assert all("Authorization" not in e.headers for e in storage.seen)


def test_401_without_credentials_names_the_fix(
    registry: RegistryServer, client: RegistryClient, fault_proxy: ProxyFactory
) -> None:
    ref, _ = pushed(registry, client)
    front = fault_proxy()

    def locked(req: ProxyRequest) -> bool:
        req.respond(401, {"WWW-Authenticate": 'Basic realm="x"'})
        return True

    front.before = locked
    with pytest.raises(AuthError, match=r"requires a login \(hint: `docker login 127\.0\.0\.1:\d+`"):
        client.get_manifest(via(front, ref))


def test_plain_http_only_for_loopback_and_insecure_hosts() -> None:
    transport = Transport(StaticCredentials({}), insecure_hosts=["registry.internal:5000", "lab"])
    assert transport.plain_http_ok("127.0.0.1:5000")
    assert transport.plain_http_ok("127.8.9.10")
    assert transport.plain_http_ok("localhost:5000")
    assert transport.plain_http_ok("[::1]:5000")
    assert transport.plain_http_ok("registry.internal:5000")
    assert transport.plain_http_ok("lab:443")
    assert not transport.plain_http_ok("registry.internal:5001")
    assert not transport.plain_http_ok("ghcr.io")
    assert not transport.plain_http_ok("localhost.evil.example")
    assert not transport.plain_http_ok("10.0.0.1:5000")
