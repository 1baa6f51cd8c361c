"""The registry auth handshake: parse `WWW-Authenticate`, answer Basic, run the Bearer token flow.

Tokens are cached per (host, scope) until shortly before they expire. A token realm must be HTTPS
unless the transport allows plain HTTP for its host (loopback or configured insecure), so credentials
never cross the network in clear text.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gates.oci.credentials import CredentialProvider, Credentials
from gates.oci.errors import AuthError

if TYPE_CHECKING:
    import requests

Send = Callable[..., "requests.Response"]
"""Sends one request to a token service: (method, url, **requests keyword arguments) -> response."""

_TOKEN_MARGIN = 10.0
_DEFAULT_TOKEN_LIFETIME = 60.0
_CHALLENGE_RE = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True)
class Challenge:
    """One challenge of a `WWW-Authenticate` header: a scheme (lowercase) and its parameters."""

    scheme: str
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """Parse `Bearer realm="...",service="...", Basic realm="..."` into challenges (RFC 7235)."""
    challenges: list[Challenge] = []
    pos = 0
    while pos < len(header):
        scheme_match = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)").match(header, pos)
        if scheme_match is None:
            break
        pos = scheme_match.end()
        params: dict[str, str] = {}
        while True:
            param = _CHALLENGE_RE.match(header, pos)
            if param is None:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            pos = param.end()
        challenges.append(Challenge(scheme_match.group(1).lower(), params))
    return challenges


def repository_scope(repository: str, push: bool = False) -> str:
    """The token scope for reading (or also writing) a repository."""
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"


def basic_header(creds: Credentials) -> str:
    """`Basic base64(user:password)`."""
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Authenticator:
    """Remembers how each registry host wants to be authenticated and holds tokens; thread safe."""

    def __init__(self, credentials: CredentialProvider, plain_http_ok: Callable[[str], bool]) -> None:
        self._credentials = credentials
        self._plain_http_ok = plain_http_ok
        self._lock = threading.Lock()
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def __repr__(self) -> str:
        return f"Authenticator(hosts={sorted(self._challenges)})"

    def header_for(self, registry: str, host: str, scope: str) -> str | None:
        """An Authorization value to send before being asked, if the host already challenged us."""
        with self._lock:
            challenge = self._challenges.get(host)
            if challenge is None:
                return None
            if challenge.scheme == "bearer":
                token = self._tokens.get((host, scope))
                if token is not None and token[1] > time.monotonic():
                    return f"Bearer {token[0]}"
                return None
        creds = self._credentials.get(registry)
        return basic_header(creds) if creds is not None and challenge.scheme == "basic" else None

    def answer(self, registry: str, host: str, scope: str, header: str, send: Send) -> str:
        """Answer a 401's `WWW-Authenticate`: an Authorization value to retry with, or `AuthError`.

        `send(method, url, **kwargs)` makes one request to the token service, without redirects.
        """
        challenges = parse_challenges(header)
        by_scheme = {c.scheme: c for c in challenges}
        creds = self._credentials.get(registry)
        if "bearer" in by_scheme:
            challenge = by_scheme["bearer"]
            with self._lock:
                self._challenges[host] = challenge
            token, lifetime = self._fetch_token(registry, challenge, scope, creds, send)
            with self._lock:
                self._tokens[(host, scope)] = (token, time.monotonic() + max(lifetime - _TOKEN_MARGIN, 1.0))
            return f"Bearer {token}"
        if "basic" in by_scheme:
            with self._lock:
                self._challenges[host] = by_scheme["basic"]
            if creds is None or creds.identity_token or not creds.password:
                raise AuthError(f"{registry} requires a login{_hint(registry)}")
            return basic_header(creds)
        raise AuthError(f"{registry} asked for unsupported authentication {header.split(' ', 1)[0][:40]!r}")

    def _fetch_token(
        self,
        registry: str,
        challenge: Challenge,
        scope: str,
        creds: Credentials | None,
        send: Send,
    ) -> tuple[str, float]:
        import requests

        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise AuthError(f"{registry} named an invalid token realm")
        if parts.scheme == "http" and not self._plain_http_ok(parts.netloc):
            raise AuthError(f"{registry} named a plain-HTTP token realm ({parts.netloc}); refusing")
        service = challenge.params.get("service")
        try:
            if creds is not None and creds.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                        "client_id": "gates", "scope": scope}
                if service:
                    form["service"] = service
                resp = send("POST", realm, data=form)
            else:
                params = {"scope": scope}
                if service:
                    params["service"] = service
                auth = (creds.username, creds.password) if creds is not None and creds.password else None
                resp = send("GET", realm, params=params, auth=auth)
        except requests.RequestException as exc:
            raise AuthError(f"token service {parts.netloc} unreachable ({type(exc).__name__})") from None
        with resp:
            if resp.status_code in (401, 403):
                who = f"the credentials from {creds.source or 'the caller'}" if creds else "anonymous access"
                raise AuthError(f"token service {parts.netloc} refused {who}{_hint(registry)}")
            if resp.status_code != 200:
                raise AuthError(f"token service {parts.netloc} answered HTTP {resp.status_code}")
            try:
                body = resp.json()
            except ValueError:
                raise AuthError(f"token service {parts.netloc} answered with something that is not JSON") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"token service {parts.netloc} answered without a token")
        lifetime = body.get("expires_in", _DEFAULT_TOKEN_LIFETIME)
        if not isinstance(lifetime, (int, float)) or lifetime <= 0:
            lifetime = _DEFAULT_TOKEN_LIFETIME
        return token, float(lifetime)


def _hint(registry: str) -> str:
    return (
        f" (hint: `docker login {registry}`, or set GATES_REGISTRY={registry} with "
        "GATES_REGISTRY_USERNAME and GATES_REGISTRY_PASSWORD)"
    )
