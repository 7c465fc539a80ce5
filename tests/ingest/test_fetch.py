"""Fetching against a real local HTTP server (loopback, allowed explicitly)."""

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ingest.errors import RecordRejected
from ingest.fetch import FetchPolicy, ImageUnavailable, check_url, fetch_image
from tests.topologies.ingest_fixtures import image_server

__all__ = ["image_server"]

LOOPBACK_ALLOWED = FetchPolicy(timeout_s=2, max_bytes=1000, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))


@pytest.fixture(scope="module")
def served(image_server: tuple[str, Path]) -> str:
    base_url, folder = image_server
    (folder / "small.jpg").write_bytes(b"\xff\xd8" + bytes(500))
    (folder / "large.jpg").write_bytes(b"\xff\xd8" + bytes(5000))
    (folder / "page.html").write_text("<html></html>")
    return base_url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x.jpg", "http://localhost/x.jpg", "http://10.1.2.3/x.jpg", "http://169.254.169.254/latest",
     "http://[::1]/x.jpg", "http://0.0.0.0/x.jpg", "ftp://example.com/x.jpg"],
)  # fmt: skip
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(RecordRejected) as caught:
        check_url(url, FetchPolicy())
    assert caught.value.stage == "fetch"


def test_allowed_network_lets_loopback_through() -> None:
    check_url("http://127.0.0.1:8000/x.jpg", LOOPBACK_ALLOWED)


def test_fetches_an_image(served: str, client: httpx.Client) -> None:
    assert len(fetch_image(served + "small.jpg", LOOPBACK_ALLOWED, client)) == 502


@pytest.mark.parametrize(
    ("path", "reason"),
    [("large.jpg", "exceeds the limit of 1000"), ("page.html", "text/html"), ("missing.jpg", "HTTP 404")],
)
def test_bad_urls_are_rejected(served: str, client: httpx.Client, path: str, reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        fetch_image(served + path, LOOPBACK_ALLOWED, client)


def test_a_server_that_is_down_is_retryable(dead_port: int, client: httpx.Client) -> None:
    with pytest.raises(ImageUnavailable):
        fetch_image(f"http://127.0.0.1:{dead_port}/x.jpg", LOOPBACK_ALLOWED, client)


def test_a_name_that_resolves_to_loopback_on_connect_is_refused(
    served: str, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name looks public when checked, then points at loopback when the client connects."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # a public-looking answer for the first lookup only

    def rebinding(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        if host == "images.rebind.example":
            host = next(answers, "127.0.0.1")
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = urlsplit(served).port
    with pytest.raises(RecordRejected, match="internal address 127.0.0.1"):
        fetch_image(f"http://images.rebind.example:{port}/small.jpg", FetchPolicy(timeout_s=2), client)
