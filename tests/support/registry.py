"""A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1.

Session fixtures, usable as a pytest plugin (`pytest_plugins = ["tests.support.registry"]`) or imported
into a conftest:

- `registry`: no auth.
- `registry_basic`: htpasswd Basic auth, user `BASIC_USER` / `BASIC_PASSWORD`.
- `registry_token`: Bearer token auth against a token service run by the test (ES256 JWTs with an
  `x5c` chain the registry trusts); `TOKEN_USER`/`TOKEN_PASSWORD` (or the refresh token
  `TOKEN_REFRESH`, POSTed as Docker does with an identity token) get pull and push everywhere,
  anonymous callers get pull on `public/*` only.

Each server has its own YAML config, a storage directory under pytest's tmp dir and a free port; it
is up once `/v2/` answers and is stopped at the end of the session. Without the binary the fixtures
skip (naming it), except under `CI=true`, where they fail: CI must install it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
BASIC_USER = "gates"
BASIC_PASSWORD = "gates-test-password"
# bcrypt (cost 4) of BASIC_PASSWORD, precomputed so tests need no bcrypt library
_BASIC_HTPASSWD = f"{BASIC_USER}:$2b$04$zjYGvgoOmcAx.CdOSo1rWOhMpyq.5Sp1N6cUHU/tNdhniINaW9o06\n"
TOKEN_USER = "robot"
TOKEN_PASSWORD = "token-test-password"
TOKEN_REFRESH = "robot-identity-token"
"""An OAuth2 refresh token (Docker's `identitytoken`) the token service accepts for TOKEN_USER."""
_TOKEN_SERVICE = "gates-test-registry"
_TOKEN_ISSUER = "gates-test-token-issuer"
_START_TIMEOUT = 15.0


@dataclass
class RegistryServer:
    """A running registry: `host` is `127.0.0.1:<port>`, usable in image references."""

    host: str
    root: Path
    process: subprocess.Popen[bytes]
    token_server: TokenServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_registry_binary() -> Path:
    """The registry binary, or skip (fail under CI=true) with a reason naming it."""
    if REGISTRY_BINARY.is_file() and os.access(REGISTRY_BINARY, os.X_OK):
        return REGISTRY_BINARY
    reason = f"{REGISTRY_BINARY} is not installed (apt-get install docker-registry)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must install it", pytrace=False)
    pytest.skip(reason)


def _config(root: Path, port: int, auth: dict[str, Any] | None) -> str:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "gates-test-secret"},
    }
    if auth:
        config["auth"] = auth
    return json.dumps(config, indent=2)  # JSON is YAML


@contextlib.contextmanager
def start_registry(root: Path, auth: dict[str, Any] | None = None) -> Iterator[RegistryServer]:
    """Run a registry in `root` until the block ends."""
    binary = require_registry_binary()
    root.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(3):  # the free port can be taken between our probe and the registry's bind
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, auth), encoding="utf-8")
        log = (root / "registry.log").open("wb")
        process = subprocess.Popen([str(binary), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        server = RegistryServer(f"127.0.0.1:{port}", root, process)
        try:
            if _wait_until_up(server):
                try:
                    yield server
                finally:
                    _stop(process)
                    log.close()
                return
            last_error = (root / "registry.log").read_text(errors="replace")[-500:]
        finally:
            if process.poll() is None:
                _stop(process)
            log.close()
    raise RuntimeError(f"{binary} did not start: {last_error}")


def _wait_until_up(server: RegistryServer) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{server.url}/v2/", timeout=1):
                return True
        except urllib.error.HTTPError as exc:  # 401 from an auth-enabled registry means it is up
            if exc.code == 401:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry without auth."""
    with start_registry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="session")
def registry_basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with htpasswd Basic auth for BASIC_USER / BASIC_PASSWORD."""
    root = tmp_path_factory.mktemp("registry-basic")
    htpasswd = root / "htpasswd"
    htpasswd.write_text(_BASIC_HTPASSWD, encoding="utf-8")
    auth = {"htpasswd": {"realm": "gates-test", "path": str(htpasswd)}}
    with start_registry(root, auth) as server:
        yield server


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with Bearer token auth, its token service run in this process."""
    root = tmp_path_factory.mktemp("registry-token")
    with TokenServer.running() as tokens:
        cert = root / "token-cert.pem"
        cert.write_bytes(tokens.cert_pem)
        auth = {"token": {"realm": tokens.realm, "service": _TOKEN_SERVICE, "issuer": _TOKEN_ISSUER,
                          "rootcertbundle": str(cert)}}
        with start_registry(root, auth) as server:
            server.token_server = tokens
            yield server


class TokenServer:
    """A minimal Docker token service: Basic-authenticated GET /token -> ES256 JWT with `access`."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gates test token signer")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self._cert_der_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.requests: list[dict[str, Any]] = []
        """Every token request: scope, service, and the user it authenticated (None if anonymous)."""
        self.realm = ""

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[TokenServer]:
        tokens = cls()
        handler = tokens._handler()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        tokens.realm = f"http://127.0.0.1:{server.server_address[1]}/token"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield tokens
        finally:
            server.shutdown()
            server.server_close()

    def issue(self, user: str | None, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            if user == TOKEN_USER:
                granted = wanted
            else:
                granted = ["pull"] if name.startswith("public/") and "pull" in wanted else []
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": _TOKEN_ISSUER, "sub": user or "", "aud": _TOKEN_SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": base64.b16encode(os.urandom(8)).decode(),
                  "access": access}
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self._cert_der_b64]}
        return _jws(header, claims, self._key)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        tokens = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                user: str | None = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if (name, password) != (TOKEN_USER, TOKEN_PASSWORD):
                        tokens.requests.append({"user": name, "refused": True})
                        self.send_response(401)
                        self.end_headers()
                        return
                    user = name
                scopes = [s for value in query.get("scope", []) for s in value.split(" ")]
                tokens.requests.append({"user": user, "scope": scopes, "service": query.get("service")})
                body = json.dumps({"token": tokens.issue(user, scopes), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                grant = form.get("grant_type", [""])[0]
                if grant != "refresh_token" or form.get("refresh_token", [""])[0] != TOKEN_REFRESH:
                    tokens.requests.append({"grant": grant, "refused": True})
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                scopes = [s for value in form.get("scope", []) for s in value.split(" ")]
                tokens.requests.append({"user": TOKEN_USER, "grant": grant, "scope": scopes})
                body = json.dumps({"access_token": tokens.issue(TOKEN_USER, scopes), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
