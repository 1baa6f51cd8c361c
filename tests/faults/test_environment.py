"""What the environment may and may not steer, through the CLI with real registries: `~/.netrc` never
supplies or overrides credentials; proxy variables (with `NO_PROXY`) and CA-bundle variables
(`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`) keep working, taken explicitly."""

from __future__ import annotations

import base64
import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gates.oci.credentials import Credentials
from tests.faults.conftest import GateUnderFault, Proxies, basic_auth
from tests.oci.tls import loopback_identity
from tests.support.registry import BASIC_PASSWORD, BASIC_USER, RegistryServer, registry_basic  # noqa: F401

NETRC_MACHINE_SECRET = "netrc-machine-secret"
NETRC_DEFAULT_SECRET = "netrc-default-secret"
NO_CA_VARIABLES = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""}
NO_PROXY_VARIABLES = {name: "" for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
                      for name in (base, base.upper())}


def _home_with_netrc(tmp_path: Path, *, machine: bool) -> dict[str, str]:
    """HOME holding a real ~/.netrc: a `default` entry, and with `machine` one for 127.0.0.1 too."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    lines = [f"machine 127.0.0.1 login mallory password {NETRC_MACHINE_SECRET}"] if machine else []
    lines.append(f"default login dora password {NETRC_DEFAULT_SECRET}")
    netrc = home / ".netrc"
    netrc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    netrc.chmod(0o600)
    return {"HOME": str(home)}


def _decoded(header: str) -> str:
    scheme, _, value = header.partition(" ")
    return base64.b64decode(value).decode(errors="replace") if scheme.lower() == "basic" else header


def test_netrc_never_overrides_the_credentials_gates_chose(gate: GateUnderFault, registry_basic: RegistryServer,  # noqa: F811
                                                            fault_proxy: Proxies, tmp_path: Path) -> None:
    front = fault_proxy(registry_basic.host)  # records what reaches the registry, which checks htpasswd
    gate.registry = registry_basic
    gate.push_credentials = {registry_basic.host: Credentials(BASIC_USER, BASIC_PASSWORD)}
    gate.prepare(front)
    image = gate.image(front.host)
    outcome = gate.run_images([image], env=_home_with_netrc(tmp_path, machine=True),
                              docker_auths={front.host: {"username": BASIC_USER, "password": BASIC_PASSWORD}})
    assert outcome.results[0]["outcome"] == "passed", outcome.results[0]
    sent = [e.headers.get("Authorization") for e in front.seen]
    assert basic_auth(BASIC_USER, BASIC_PASSWORD) in sent
    assert set(sent) <= {None, basic_auth(BASIC_USER, BASIC_PASSWORD)}, [_decoded(h) for h in sent if h]
    assert NETRC_MACHINE_SECRET not in outcome.run.out + outcome.run.err


def test_a_netrc_default_entry_goes_to_no_registry(gate: GateUnderFault, fault_proxy: Proxies,
                                                   tmp_path: Path) -> None:
    front = fault_proxy()
    gate.prepare(front)
    many = gate.run_images([gate.image(front.host), gate.image(gate.registry.host)],
                           env=_home_with_netrc(tmp_path, machine=False))
    assert [r["outcome"] for r in many.results] == ["passed", "passed"], many.results
    leaked = [e.headers.get("Authorization") for e in front.seen if e.headers.get("Authorization")]
    assert leaked == [], [_decoded(h) for h in leaked if h]  # an anonymous registry gets no credentials


@pytest.fixture
def forward_proxy() -> Iterator[tuple[str, list[str]]]:
    """An HTTP forward proxy (absolute-form requests, as HTTP_PROXY clients send): its URL, and the URLs
    it was asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            asked.append(self.path)
            target = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(target.netloc, timeout=10)
            forward = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
            conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body=body,
                         headers=forward)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_HEAD = do_POST = do_PUT = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def test_proxy_variables_keep_working_with_no_proxy(gate: GateUnderFault,
                                                    forward_proxy: tuple[str, list[str]]) -> None:
    url, asked = forward_proxy
    gate.prepare()
    image = gate.image(gate.registry.host)
    through = gate.run_images([image], env={**NO_PROXY_VARIABLES, "HTTP_PROXY": url, "http_proxy": url})
    assert through.results[0]["outcome"] == "passed", through.results[0]
    assert any(u.startswith(f"http://{gate.registry.host}/v2/{gate.repository}/manifests/") for u in asked), asked
    before = len(asked)
    bypassed = gate.run_images([image], env={**NO_PROXY_VARIABLES, "HTTP_PROXY": url, "http_proxy": url,
                                                    "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
    assert bypassed.results[0]["outcome"] == "passed", bypassed.results[0]
    assert len(asked) == before, asked[before:]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_ca_bundle_variables_keep_working(gate: GateUnderFault, fault_proxy: Proxies, tmp_path: Path,
                                          variable: str) -> None:
    identity = loopback_identity(tmp_path / "tls")
    front = fault_proxy(tls=identity)  # HTTPS with a certificate only the bundle vouches for
    gate.prepare(front)
    image = gate.image(front.host)
    trusted = gate.run_images([image], env={**NO_CA_VARIABLES, variable: str(identity.cert)})
    assert trusted.results[0]["outcome"] == "passed", trusted.results[0]
    assert front.seen, "the registry was read over TLS through the front"
    untrusted = gate.run_images([image], env=NO_CA_VARIABLES)
    assert untrusted.results[0]["outcome"] == "error", untrusted.results[0]
