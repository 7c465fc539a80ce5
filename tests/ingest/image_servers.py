"""A loopback image server for the fetch tests: photos, redirects anywhere, and slow drips; plus a socket guard."""

import http.server
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

SERVER_HOST = "127.0.0.2"  # the one address tests allow: 127.0.0.1 stays refused, so loopback forms are too
PHOTO = b"\xff\xd8" + bytes(500)
DRIP_INTERVAL_S = 0.2


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /photo.jpg, /page.html, /large.jpg, /redirect?to=URL, /drip-body, /drip-headers."""

    protocol_version = "HTTP/1.1"
    server: "ImageServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.hosts.append(self.headers.get("Host", ""))
        path = urlsplit(self.path)
        if path.path == "/redirect":
            self._answer(302, b"", {"Location": parse_qs(path.query)["to"][0]})
        elif path.path == "/drip-body":
            self._drip_body()
        elif path.path == "/drip-headers":
            self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n" + b"X-Slow: " + b"a" * 200)
        elif path.path == "/page.html":
            self._answer(200, b"<html></html>", {"Content-Type": "text/html"})
        elif path.path in ("/photo.jpg", "/large.jpg"):
            self._answer(200, PHOTO if path.path == "/photo.jpg" else bytes(5000), {"Content-Type": "image/jpeg"})
        else:
            self._answer(404, b"", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drip_body(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 200\r\n\r\n")
        self._drip(bytes(200))

    def _drip(self, data: bytes) -> None:
        """One byte every DRIP_INTERVAL_S, until the client hangs up."""
        try:
            for n in range(len(data)):
                self.wfile.write(data[n : n + 1])
                self.wfile.flush()
                time.sleep(DRIP_INTERVAL_S)
        except OSError:
            pass
        self.close_connection = True


class ImageServer(http.server.ThreadingHTTPServer):
    """The server; hosts holds the Host header of every request, in order."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((SERVER_HOST, 0), _Handler)
        self.hosts: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{SERVER_HOST}:{self.server_address[1]}"


@contextmanager
def image_server() -> Iterator[ImageServer]:
    """An ImageServer running in a thread."""
    server = ImageServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ConnectionGuard:
    """Every outgoing TCP connection attempt; any to an address not allowed is blocked before it is made."""

    allowed: set[str]
    attempts: list[str] = field(default_factory=list)

    def refused(self) -> list[str]:
        return [address for address in self.attempts if address not in self.allowed]


@contextmanager
def connection_guard(monkeypatch: pytest.MonkeyPatch, allowed: set[str]) -> Iterator[ConnectionGuard]:
    """Patch socket.connect so that only loopback addresses in allowed are ever connected to."""
    guard = ConnectionGuard(allowed)
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        guard.attempts.append(host)
        if host not in allowed or not ipaddress.ip_address(host).is_loopback:
            raise ConnectionRefusedError(f"test guard: no connection to {host}")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield guard
