"""Fetching against a real loopback HTTP server, with an SSRF corpus that must be refused before any connection."""

import ipaddress
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ingest.errors import RecordRejected
from ingest.fetch import FetchPolicy, ImageUnavailable, check_url, fetch_client, fetch_image, is_public
from tests.ingest.image_servers import PHOTO, SERVER_HOST, ConnectionGuard, ImageServer, connection_guard, image_server

# Names the test resolver knows; anything else does not resolve.
DNS = {
    "localhost": ["127.0.0.1"],
    "metadata.internal": ["169.254.169.254"],
    "cgnat.example": ["100.100.100.200"],
    "mixed.example": ["93.184.216.34", "10.0.0.1"],
    "nat64.example": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.example": ["2002:a9fe:a9fe::1"],
    "mapped.example": ["::ffff:10.0.0.1"],
    "scoped.example": ["fe80::1%1"],
}
HOSTILE_URLS = [
    "http://127.0.0.1/", "http://127.0.0.1:6379/", "https://127.0.0.1/", "http://localhost/", "http://10.0.0.1/",
    "http://172.16.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/",
    "http://100.100.100.200/latest/meta-data/", "http://0.0.0.0/", "http://198.18.0.1/", "http://192.0.0.170/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://255.255.255.255/", "http://[::1]/", "http://[::]/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/", "http://[::ffff:10.0.0.1]/", "http://[::127.0.0.1]/", "http://[::a9fe:a9fe]/",
    "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::1]/", "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b:1::a00:1]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f000001/", "http://0x7f.0.0.1/", "http://127.1/",
    "http://10.1/", "http://0xa9fea9fe/", "http://user@127.0.0.1/", "http://shop.example@169.254.169.254/",
    "http://shop.example:pw@10.0.0.1/", "http://127.0.0.1#@shop.example/", "http://127.0.0.1\\@shop.example/",
    "http://metadata.internal/", "http://cgnat.example/", "http://mixed.example/", "http://nat64.example/",
    "http://sixtofour.example/", "http://mapped.example/", "http://scoped.example/", "http://unknown.example/",
    "ftp://shop.example/x.jpg", "file:///etc/passwd", "gopher://127.0.0.1:25/",
]  # fmt: skip
MALFORMED_URLS = [
    "http://h:99999/x", "http://[::1/x", "http://a\tb/x", "http://sh op.example/", "http://%zz/", "http:///x",
    "http://shop.example:-1/", "http://[::1]]/", "http://\u0430pple.example/", "http://shop.example/\n",
]  # fmt: skip


def fake_resolver(host: str, port: int) -> list[str]:
    """The test DNS: the addresses in DNS, or a resolution failure."""
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


POLICY = FetchPolicy(
    timeout_s=2, max_bytes=1000, allowed_networks=(ipaddress.ip_network(f"{SERVER_HOST}/32"),), resolver=fake_resolver
)


@pytest.fixture(scope="module")
def server() -> Iterator[ImageServer]:
    with image_server() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with fetch_client("cbir-test") as http:
        yield http


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectionGuard]:
    with connection_guard(monkeypatch, {SERVER_HOST}) as connections:
        yield connections


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused_before_any_connection(url: str, client: httpx.Client, guard: ConnectionGuard) -> None:
    with pytest.raises(RecordRejected) as caught:
        fetch_image(url, POLICY, client)
    assert caught.value.stage == "fetch"
    assert guard.attempts == []


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_redirects_to_hostile_urls_are_refused(
    url: str, server: ImageServer, client: httpx.Client, guard: ConnectionGuard
) -> None:
    with pytest.raises(RecordRejected):
        fetch_image(f"{server.url}/redirect?to={quote(url, safe='')}", POLICY, client)
    assert guard.attempts and guard.refused() == []


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_malformed_urls_are_rejected_records(url: str, client: httpx.Client, guard: ConnectionGuard) -> None:
    with pytest.raises(RecordRejected):
        fetch_image(url, POLICY, client)
    assert guard.attempts == []


@pytest.mark.parametrize("url", ["http://h:99999/x", "http://[::1/x", "http://a\tb/x", "http://%zz/"])
def test_redirects_to_malformed_urls_are_rejected_records(
    url: str, server: ImageServer, client: httpx.Client, guard: ConnectionGuard
) -> None:
    with pytest.raises(RecordRejected):
        fetch_image(f"{server.url}/redirect?to={quote(url, safe='')}", POLICY, client)
    assert guard.refused() == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "93.184.216.34"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_refusals_do_not_name_the_resolved_address() -> None:
    for url in ("http://metadata.internal/", "http://mixed.example/", "http://nat64.example/"):
        with pytest.raises(RecordRejected) as caught:
            check_url(url, POLICY)
        assert not any(address.split("%")[0] in str(caught.value) for address in DNS[urlsplit_host(url)])


def urlsplit_host(url: str) -> str:
    return httpx.URL(url).host


def test_a_rebinding_name_is_fetched_from_the_address_that_was_checked(
    server: ImageServer, client: httpx.Client, guard: ConnectionGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first answer is the allowed server, every later one is loopback 127.0.0.1 (refused)."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter([SERVER_HOST])

    def rebinding(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        if host == "images.rebind.example":
            host = next(answers, "127.0.0.1")
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    policy = FetchPolicy(timeout_s=2, max_bytes=1000, allowed_networks=POLICY.allowed_networks)
    port = httpx.URL(server.url).port
    assert fetch_image(f"http://images.rebind.example:{port}/photo.jpg", policy, client) == PHOTO
    assert guard.attempts == [SERVER_HOST]
    assert server.hosts[-1] == f"images.rebind.example:{port}"


def test_fetches_an_image(server: ImageServer, client: httpx.Client) -> None:
    assert fetch_image(f"{server.url}/photo.jpg", POLICY, client) == PHOTO


def test_a_plain_httpx_client_works_too(server: ImageServer) -> None:
    with httpx.Client() as plain:
        assert fetch_image(f"{server.url}/photo.jpg", POLICY, plain) == PHOTO


@pytest.mark.parametrize(
    ("path", "reason"),
    [("large.jpg", "exceeds the limit of 1000"), ("page.html", "text/html"), ("missing.jpg", "HTTP 404")],
)
def test_bad_urls_are_rejected(server: ImageServer, client: httpx.Client, path: str, reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        fetch_image(f"{server.url}/{path}", POLICY, client)


def test_a_server_that_is_down_is_retryable(client: httpx.Client) -> None:
    with socket.socket() as sock:  # bound, not listening: connections are refused
        sock.bind((SERVER_HOST, 0))
        with pytest.raises(ImageUnavailable):
            fetch_image(f"http://{SERVER_HOST}:{sock.getsockname()[1]}/x.jpg", POLICY, client)


@pytest.mark.parametrize("path", ["drip-body", "drip-headers"])
def test_a_dripping_server_fails_at_the_total_deadline(path: str, server: ImageServer, client: httpx.Client) -> None:
    """One byte every 0.2 s never trips a per-read timeout; the 1 s deadline of the whole fetch ends it."""
    policy = FetchPolicy(timeout_s=1.0, max_bytes=1000, allowed_networks=POLICY.allowed_networks)
    started = time.monotonic()
    with pytest.raises(ImageUnavailable):
        fetch_image(f"{server.url}/{path}", policy, client)
    assert 0.9 < time.monotonic() - started < 1.6
