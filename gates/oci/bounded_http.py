"""Connections that honour the `Budget` of the request being sent: total time, headers and body.

The connection classes mounted by `BoundedAdapter` check the budget before every read from the socket
and shorten the socket's timeout to what is left, so the status line, the headers and the body (also
when streamed, long after `bounded()` returned) share one deadline. Connecting gets at most what is
left as its timeout, which bounds the TCP connect and the whole TLS handshake (Python's ssl applies a
socket's timeout to the handshake as a whole).
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from gates.oci.deadlines import Budget, current_budget


class _BoundedReader(io.RawIOBase):
    """The socket reader http.client opened, never waiting past the budget: each read gets
    min(read timeout, time left) as the socket's timeout, and none starts once the budget is spent."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, budget: Budget) -> None:
        super().__init__()
        self._raw = raw
        self._socket = sock
        self._budget = budget
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._budget.remaining()
        if left <= 0:
            raise self._budget.timeout_error()
        per_read = left if self._read_timeout is None else min(self._read_timeout, left)
        self._socket.settimeout(max(per_read, 0.001))
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if self._budget.remaining() <= 0:
                raise self._budget.timeout_error() from None
            raise

    def close(self) -> None:
        self._raw.close()
        super().close()


class _BoundedResponse(http.client.HTTPResponse):
    """http.client's response, reading its socket through `_BoundedReader`."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None,
                 url: str | None = None, *, budget: Budget) -> None:
        super().__init__(sock, debuglevel, method, url)
        raw = self.fp.detach()  # nothing was read yet; the socket file keeps its reference to the socket
        self.fp = io.BufferedReader(_BoundedReader(raw, sock, budget))


class _BoundedConnectionMixin:
    """Makes a urllib3 connection honour the budget of the request being sent on this thread."""

    timeout: Any

    def connect(self) -> None:
        budget = current_budget()
        if budget is None:
            super().connect()  # type: ignore[misc]
            return
        left = budget.remaining()
        if left <= 0:
            raise budget.timeout_error()
        if self.timeout is None or self.timeout > left:  # bounds the TCP connect and the whole TLS handshake
            self.timeout = left
        try:
            super().connect()  # type: ignore[misc]
        except Exception:
            if budget.expired:
                raise budget.timeout_error() from None
            raise

    def getresponse(self) -> Any:
        budget = current_budget()
        if budget is None:
            return super().getresponse()  # type: ignore[misc]
        # http.client builds its response with `self.response_class(self.sock, method=...)`; an instance
        # attribute for this one response, removed afterwards (a later proxy tunnel uses the class's own)
        self.__dict__["response_class"] = functools.partial(_BoundedResponse, budget=budget)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            self.__dict__.pop("response_class", None)


class _BoundedHTTPConnection(_BoundedConnectionMixin, HTTPConnection):
    pass


class _BoundedHTTPSConnection(_BoundedConnectionMixin, HTTPSConnection):
    pass


class _BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _BoundedHTTPPool, "https": _BoundedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """requests' adapter with connection pools (direct and through a proxy) that honour budgets."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools connect their own way: left as they are
            manager.pool_classes_by_scheme = _POOLS
        return manager
