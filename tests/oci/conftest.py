"""Fixtures for the registry client tests: the real registries, a client, and a fault proxy.

The proxy sits in front of the real registry and injects only faults a real registry cannot be made
to produce: a lying `Docker-Content-Digest`, altered bytes, reset connections, 429s, redirects of
blobs to another host.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.transport import RetryPolicy
from tests.oci.tls import TlsIdentity
from tests.support.registry import (  # noqa: F401 - fixtures
    RegistryServer,
    registry,
    registry_basic,
    registry_token,
)

FAST_RETRY = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, max_retry_after=0.05)


@pytest.fixture
def client() -> Iterator[RegistryClient]:
    """A client without credentials and with fast retries."""
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as c:
        yield c


@dataclass
class Exchange:
    """What the proxy saw and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


Rewrite = Callable[["ProxyRequest"], "bool | None"]


@dataclass
class ProxyRequest:
    """Handed to a fault hook: inspect, then answer yourself (return True) or let it pass."""

    handler: http.server.BaseHTTPRequestHandler
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def respond(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.handler.send_response(status)
        for k, v in (headers or {}).items():
            self.handler.send_header(k, v)
        self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()
        self.handler.wfile.write(body)

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        sock = self.handler.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.handler.close_connection = True
        sock.close()


@dataclass
class FaultProxy:
    """An HTTP proxy in front of `upstream` (`host:port`); hooks decide per request."""

    upstream: str
    host: str = ""
    seen: list[Exchange] = field(default_factory=list)
    before: Rewrite | None = None
    """Called before forwarding; return True if it answered."""
    after: Callable[[ProxyRequest, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]] | None = None
    """May rewrite the upstream answer (status, headers, body)."""


def _handler(proxy: FaultProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            exchange = Exchange(self.command, self.path, headers)
            proxy.seen.append(exchange)
            request = ProxyRequest(self, self.command, self.path, headers, body)
            if proxy.before is not None and proxy.before(request):
                return
            conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
            forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body or None, headers=forward)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            out_headers = {k: v for k, v in resp.getheaders()
                           if k.lower() not in ("content-length", "connection", "transfer-encoding")}
            conn.close()
            if "Location" in out_headers:
                out_headers["Location"] = out_headers["Location"].replace(proxy.upstream, proxy.host)
            if proxy.after is not None:
                status, out_headers, data = proxy.after(request, status, out_headers, data)
            exchange.status = status
            request.respond(status, out_headers, b"" if self.command == "HEAD" else data)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fault_proxy(registry: RegistryServer) -> Iterator[Callable[[str], FaultProxy]]:  # noqa: F811
    """Start proxies in front of a registry: `fault_proxy(upstream_host)`, speaking TLS with `tls=`;
    stopped after the test."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(upstream: str = registry.host, tls: TlsIdentity | None = None) -> FaultProxy:
        proxy = FaultProxy(upstream)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
        server.daemon_threads = True
        if tls is not None:
            server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
        proxy.host = f"127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return proxy

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
