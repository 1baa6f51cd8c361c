"""HTTP for the registry client: scheme choice, timeouts, retries, redirects and the 401 handshake.

- HTTPS always, except for loopback hosts (127.0.0.0/8, localhost, ::1) and hosts configured as
  insecure: those try HTTPS first and fall back to plain HTTP, as Docker does.
- Retries with exponential backoff on 429 (honouring `Retry-After`, capped), 500/502/503/504 and
  connection errors; then one `RegistryError` line naming what was asked for.
- Redirects are followed here, not by requests: the Authorization header is dropped as soon as the
  origin (scheme, host, port) changes, e.g. when a blob redirects to a storage host, and an HTTPS
  request is never redirected to plain HTTP unless that host may use it.
- Time is bounded three ways: each socket operation (`Timeouts.read`), each request in all, headers
  and body (`Timeouts.total`, see `gates.oci.bounded_http`), and the run (`RunDeadline`). A host that
  keeps timing out trips its `CircuitBreaker`, and the other requests to it fail at once.
- Sessions do not trust the environment (`~/.netrc` never supplies credentials); proxies and the CA
  bundle are taken from it explicitly (`gates.oci.environment`).
"""

from __future__ import annotations

import email.utils
import ipaddress
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from gates import __version__
from gates.oci.auth import Authenticator
from gates.oci.breaker import CircuitBreaker
from gates.oci.credentials import CredentialProvider
from gates.oci.deadlines import Budget, RunDeadline, bounded
from gates.oci.environment import ca_bundle, proxies_for
from gates.oci.errors import AuthError, NotFoundError, RegistryError, TooLargeError

if TYPE_CHECKING:
    import requests

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_T = TypeVar("_T")

RetryNotice = Callable[[str, int, int, str], None]
"""Told before each retry: (host, the attempt about to start, attempts in all, what went wrong)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, backoff doubling from `backoff` up to `max_backoff` seconds."""

    attempts: int = 4
    breaker_threshold: int = 4
    """Timeouts in a row from one host after which the rest of the run stops asking it."""
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0
    """A registry's `Retry-After` is honoured up to this many seconds."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, to wait for each read from the socket, and for a whole request (headers and
    body, a streamed blob included)."""

    connect: float = 10.0
    read: float = 60.0
    total: float = 300.0


@dataclass
class Response:
    """A finished exchange: status, headers (case-insensitive) and the body read up to its cap."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = field(repr=False, default="")


def is_loopback(host: str) -> bool:
    """Whether `host[:port]` is localhost, 127.0.0.0/8 or ::1."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Transport:
    """Sends requests to registries; one per client, shared by its threads (a session per thread)."""

    def __init__(
        self,
        credentials: CredentialProvider,
        insecure_hosts: Iterable[str] = (),
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: RunDeadline | None = None,
        on_retry: RetryNotice | None = None,
    ) -> None:
        self._on_retry = on_retry
        self._insecure = frozenset(h.lower() for h in insecure_hosts)
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._deadline = deadline
        self._breaker = CircuitBreaker(self._retry.breaker_threshold)
        self._verify = ca_bundle()
        self._auth = Authenticator(credentials, self.plain_http_ok)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._scheme: dict[str, str] = {}
        self.request_count = 0
        """Registry requests answered so far, retries included; token requests and redirects excluded."""

    def __repr__(self) -> str:
        return f"Transport(insecure={sorted(self._insecure)})"

    def plain_http_ok(self, host: str) -> bool:
        """Whether `host[:port]` may be spoken to over plain HTTP."""
        host = host.lower()
        return is_loopback(host) or host in self._insecure or host.split(":")[0] in self._insecure

    def close(self) -> None:
        """Close every session this transport opened."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            from gates.oci.bounded_http import BoundedAdapter

            session = requests.Session()
            session.trust_env = False  # no ~/.netrc; proxies and CA bundle are passed explicitly
            session.mount("https://", BoundedAdapter())
            session.mount("http://", BoundedAdapter())
            session.headers["User-Agent"] = f"gates/{__version__} (+python-requests)"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def fetch(
        self,
        method: str,
        registry: str,
        host: str,
        path: str,
        *,
        what: str,
        scope: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        max_bytes: int = 4 * 1024 * 1024,
    ) -> Response:
        """Send a request and read its whole body (at most `max_bytes`), retrying the exchange as a unit."""

        def read(resp: requests.Response, _: Budget) -> Response:
            body = _read_capped(resp, max_bytes) if method != "HEAD" else b""
            return Response(resp.status_code, resp.headers, body, resp.url)

        return self._exchange(method, registry, host, path, what, scope, headers, params, data, False, read)

    def stream(
        self, registry: str, host: str, path: str, *, what: str, scope: str, headers: Mapping[str, str]
    ) -> tuple[requests.Response, Budget]:
        """GET with the body left unread (the caller closes it); retries happen only before the body.

        The body stays bounded by the returned budget: reading past it raises, and `budget.expired`
        then says why (see `stream_failed`).
        """

        def keep(resp: requests.Response, budget: Budget) -> tuple[requests.Response, Budget]:
            return resp, budget

        return self._exchange("GET", registry, host, path, what, scope, headers, None, None, True, keep)

    def stream_done(self, host: str) -> None:
        """A streamed body was read to its end: the host answered."""
        self._breaker.answered(host)

    def stream_failed(self, host: str, budget: Budget, exc: BaseException) -> str:
        """Why reading a streamed body failed, in a few words; timeouts count for the host's breaker."""
        problem = self._timeout_problem(exc, budget)
        if problem is not None:
            self._breaker.timed_out(host, problem)
            if budget.expired and self._deadline is not None and self._deadline.passed():
                return self._deadline.describe()
            return problem
        return f"connection broken while reading ({type(exc).__name__})"

    def _exchange(
        self,
        method: str,
        registry: str,
        host: str,
        path: str,
        what: str,
        scope: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        data: bytes | None,
        stream: bool,
        finish: Callable[[requests.Response, Budget], _T],
    ) -> _T:
        import requests

        authorization = self._auth.header_for(registry, host, scope)
        answered_challenge = False
        attempt = 0
        last_problem = ""
        while True:
            self._breaker.check(host, what)
            budget = self._budget(what)
            scheme = self._scheme_for(host)
            url = f"{scheme}://{host}{path}"
            send_headers = dict(headers or {})
            if authorization:
                send_headers["Authorization"] = authorization
            try:
                with bounded(budget):
                    resp = self._send_following_redirects(method, url, send_headers, params, data, stream, host)
                    with self._lock:
                        self.request_count += 1
                    if resp.status_code == 401 and not answered_challenge and _same_host(resp.url, host):
                        challenge = resp.headers.get("WWW-Authenticate", "")
                        resp.close()
                        self._breaker.answered(host)
                        if not challenge:
                            raise AuthError(f"{what}: {registry} answered 401 without a challenge")
                        try:
                            authorization = self._auth.answer(registry, host, scope, challenge, self._send_plain)
                        except AuthError as exc:
                            raise AuthError(f"{what}: {exc}") from None
                        answered_challenge = True
                        continue
                    if resp.status_code in _RETRY_STATUSES:
                        last_problem = f"HTTP {resp.status_code}"
                        delay = self._retry_after(resp)
                        resp.close()
                        self._breaker.answered(host)
                        attempt += 1
                        if attempt >= self._retry.attempts:
                            break
                        self._notify_retry(host, attempt, last_problem)
                        self._pause(delay if delay is not None else self._backoff(attempt))
                        continue
                    if stream:
                        return finish(resp, budget)  # answered once its body is read (`stream_done`)
                    with resp:
                        finished = finish(resp, budget)
                    self._breaker.answered(host)  # headers and body: only a whole answer is one
                    return finished
            except requests.exceptions.SSLError as exc:
                if not budget.expired:
                    if scheme == "https" and self.plain_http_ok(host):
                        with self._lock:
                            self._scheme[host] = "http"
                        continue
                    raise RegistryError(f"{what}: TLS handshake with {host} failed") from None
                last_problem = self._failed_attempt(what, host, exc, budget)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last_problem = self._failed_attempt(what, host, exc, budget)
            except TooLargeError as exc:
                raise TooLargeError(f"{what}: {exc}") from None
            attempt += 1
            if attempt >= self._retry.attempts:
                break
            self._notify_retry(host, attempt, last_problem)
            self._pause(self._backoff(attempt))
        raise RegistryError(f"{what}: {last_problem} from {host} after {attempt} attempts")

    def _budget(self, what: str) -> Budget:
        """The next attempt's budget: the request's total time, cut short by the run's deadline."""
        seconds = self._timeouts.total
        if self._deadline is not None:
            left = self._deadline.remaining()
            if left <= 0:
                raise RegistryError(f"{what}: {self._deadline.describe()}; not asked")
            seconds = min(seconds, left)
        return Budget(seconds)

    def _failed_attempt(self, what: str, host: str, exc: Exception, budget: Budget) -> str:
        """Describe a failed attempt; a timeout counts for the host's breaker. A request that used its
        whole budget is not tried again (it had far longer than a read timeout), and past the run's
        deadline nothing is."""
        problem = self._timeout_problem(exc, budget)
        if problem is None:
            return _describe(exc)
        self._breaker.timed_out(host, problem)
        if budget.expired:
            if self._deadline is not None and self._deadline.passed():
                raise RegistryError(f"{what}: {self._deadline.describe()} before {host} answered") from None
            raise RegistryError(f"{what}: {problem} from {host}") from None
        return problem

    def _timeout_problem(self, exc: BaseException, budget: Budget) -> str | None:
        """`timeout` (one read or the connection), `timeout: no complete answer within N s` (the whole
        request), or None when `exc` was no timeout."""
        import requests

        if budget.expired:
            return f"timeout: no complete answer within {budget.seconds:g} s"
        if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
            return "timeout"
        return None

    def _pause(self, seconds: float) -> None:
        """Back off before retrying, never past the run's deadline."""
        if self._deadline is not None:
            seconds = min(seconds, max(self._deadline.remaining(), 0.0))
        self._sleep(seconds)

    def _send_plain(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request without redirects, proxies and CA bundle from the environment (the token flow)."""
        return self._session().request(
            method, url, timeout=self._timeout(), allow_redirects=False, proxies=proxies_for(url),
            verify=self._verify, **kwargs,
        )

    def _send_following_redirects(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        data: bytes | None,
        stream: bool,
        host: str,
    ) -> requests.Response:
        session = self._session()
        for _ in range(_MAX_REDIRECTS + 1):
            resp = session.request(
                method, url, headers=headers, params=params, data=data, stream=stream,
                timeout=self._timeout(), allow_redirects=False, proxies=proxies_for(url), verify=self._verify,
            )
            location = resp.headers.get("Location")
            if resp.status_code not in _REDIRECTS or not location:
                return resp
            resp.close()
            target = urljoin(resp.url, location)
            old, new = urlsplit(resp.url), urlsplit(target)
            if new.scheme not in ("http", "https"):
                raise RegistryError(f"{host} redirected to an unsupported URL scheme {new.scheme!r}")
            if new.scheme == "http" and old.scheme == "https" and not self.plain_http_ok(new.netloc):
                raise RegistryError(f"{host} redirected from HTTPS to plain HTTP ({new.netloc}); refusing")
            if (old.scheme, old.netloc.lower()) != (new.scheme, new.netloc.lower()):
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if resp.status_code == 303:
                method, data = "GET", None
            url, params = target, None
        raise RegistryError(f"{host} redirected more than {_MAX_REDIRECTS} times")

    def _notify_retry(self, host: str, failed: int, problem: str) -> None:
        if self._on_retry is not None:
            self._on_retry(host, failed + 1, self._retry.attempts, problem)

    def _scheme_for(self, host: str) -> str:
        with self._lock:
            return self._scheme.get(host, "https")

    def _timeout(self) -> tuple[float, float]:
        return (self._timeouts.connect, self._timeouts.read)

    def _backoff(self, attempt: int) -> float:
        base: float = min(self._retry.backoff * 2.0 ** (attempt - 1), self._retry.max_backoff)
        return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto

    def _retry_after(self, resp: requests.Response) -> float | None:
        value = resp.headers.get("Retry-After")
        if not value:
            return None
        seconds: float | None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = None
        if seconds is None:
            return None
        return float(min(max(seconds, 0.0), self._retry.max_retry_after))


def raise_for_status(resp: Response, what: str, ok: Iterable[int] = (200,)) -> None:
    """Turn an unexpected status into the matching error, with the registry's own error code."""
    if resp.status in set(ok):
        return
    detail = _registry_error_detail(resp.body)
    suffix = f" ({detail})" if detail else ""
    if resp.status == 404:
        raise NotFoundError(f"{what}: not found{suffix}")
    if resp.status in (401, 403):
        raise AuthError(f"{what}: access denied, HTTP {resp.status}{suffix}")
    raise RegistryError(f"{what}: unexpected HTTP {resp.status}{suffix}")


def _registry_error_detail(body: bytes) -> str:
    import json

    try:
        doc = json.loads(body[:65536])
        first = doc["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        return ""
    return " ".join(f"{code}: {message}"[:200].split())


def _same_host(url: str, host: str) -> bool:
    return urlsplit(url).netloc.lower() == host.lower()


def _describe(exc: Exception) -> str:
    text = str(exc).lower()
    if "reset" in text:
        return "connection reset"
    if "timed out" in text or "timeout" in type(exc).__name__.lower():
        return "timeout"
    if "refused" in text:
        return "connection refused"
    if "chunked" in type(exc).__name__.lower() or "incomplete" in text or "broken" in text:
        return "connection broken mid-response"
    return "connection failed"


def _read_capped(resp: requests.Response, max_bytes: int) -> bytes:
    length = resp.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise TooLargeError(f"{int(length)} bytes announced, over the cap of {max_bytes}")
    chunks: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise TooLargeError(f"more than the cap of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
