"""A loopback HTTP server answering as OSV's bucket does (`ECOSYSTEM/all.zip`), with the faults tests need."""

from __future__ import annotations

import contextlib
import http.server
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import require_corpus


@dataclass
class Answer:
    body: bytes
    status: int = 200
    length: int | None = None
    """The Content-Length to announce (default: the body's)."""
    stall: float = 0.0
    """Seconds to wait after the headers, before the body."""


@dataclass
class OsvServer:
    url: str
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def osv_server() -> Iterator[OsvServer]:
    state = OsvServer("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            answer = state.answers.get(self.path)
            if answer is None:
                self.send_error(404)
                return
            self.send_response(answer.status)
            self.send_header("Content-Length", str(answer.length if answer.length is not None else len(answer.body)))
            self.send_header("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")
            self.end_headers()
            if answer.stall:
                time.sleep(answer.stall)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(answer.body)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()



def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def corpus_zip(ecosystem: str) -> tuple[bytes, int]:
    """The corpus records of one base ecosystem as OSV zips them, and how many there are."""
    records = sorted(require_corpus("osv", "records", ecosystem).glob("*.json"))
    return zip_of({path.name: path.read_bytes() for path in records}), len(records)
