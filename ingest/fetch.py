"""Fetching a product photo by URL: a total deadline, a size limit, content-type checks, and no internal addresses.

Every hop (the URL and each redirect) is parsed strictly, its host resolved once, every address checked, and the
request sent to the checked address itself (Host header and TLS SNI keep the name), so a second DNS answer
(rebinding) is never used. Clients from `fetch_client()` also enforce the total deadline on every socket read and
write, so a server dripping one byte a second fails at the deadline, not never.
"""

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from ingest.errors import IngestError, RecordRejected
from settings import FetchSettings

FETCH_STAGE = "fetch"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
_ACCEPTED_TYPES = ("image/", "application/octet-stream")
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_URL_LENGTH = 2048
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_LEGACY_IPV4 = re.compile(r"[0-9A-Fa-fXx.]+")  # 2130706433, 0x7f.1, 0177.0.0.1, 127.1: what inet_aton reads
# Not globally reachable, whatever a Python version's `is_global` says about them.
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/3",  # this host, CGNAT, ...
        "::/96", "2001::/32", "64:ff9b:1::/48", "5f00::/16",  # IPv4-compatible, Teredo, local NAT64, SRv6
    )
)  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class ImageUnavailable(IngestError):
    """The image server did not answer properly (timeout, connection refused, 5xx): trying later may work."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for host (OSError when there are none)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; addresses in allowed_networks are fetched even if loopback or private."""

    timeout_s: float = 5.0  # for the whole fetch, redirects and body included
    max_bytes: int = 5 * 1024 * 1024
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    max_redirects: int = 3
    resolver: Resolver = system_resolver

    @classmethod
    def of(cls, settings: FetchSettings) -> "FetchPolicy":
        """The policy the fetch settings describe (networks in CIDR notation)."""
        networks = tuple(ipaddress.ip_network(n) for n in settings.allowed_networks)
        return cls(settings.timeout_s, settings.max_image_bytes, networks, max_redirects=settings.max_redirects)


@dataclass(frozen=True)
class Target:
    """One checked hop: the URL as given, and the address it is fetched from."""

    url: httpx.URL
    address: IPAddress


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None or address.sixtofour is not None:
        return address.ipv4_mapped or address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether address is a global unicast one, and so is any IPv4 address embedded in it."""
    if not address.is_global or address.is_multicast or any(address in n for n in _REFUSED_NETWORKS):
        return False
    inner = embedded_ipv4(address)
    return inner is None or is_public(inner)


def _may_fetch(address: IPAddress, policy: FetchPolicy) -> bool:
    """Whether address is public or inside an allowed network."""
    return is_public(address) or any(address in network for network in policy.allowed_networks)


def parse_url(url: str) -> httpx.URL:
    """A strictly parsed http(s) URL with a host and no credentials; RecordRejected for anything else."""
    if len(url) > _MAX_URL_LENGTH or any(ord(c) <= 0x20 or ord(c) >= 0x7F or c == "\\" for c in url):
        raise RecordRejected(
            FETCH_STAGE,
            f"the URL is over {_MAX_URL_LENGTH} characters or holds spaces, control characters, backslashes or "
            "non-ASCII characters (percent-encode them, and IDNA-encode a host)",
        )
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        raise RecordRejected(FETCH_STAGE, f"malformed URL: {error}") from error
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise RecordRejected(FETCH_STAGE, "not an http(s) URL with a host")
    if parsed.userinfo:
        raise RecordRejected(FETCH_STAGE, "URLs with credentials (user@host) are refused")
    if port is not None and not 0 < port < 65536:
        raise RecordRejected(FETCH_STAGE, f"port {port} is out of range")
    return parsed


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in standard or legacy IPv4 notation (decimal, octal, hex, short)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _LEGACY_IPV4.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(url: httpx.URL, policy: FetchPolicy) -> list[IPAddress]:
    """Every address the URL's host stands for (once: this is the answer that is checked and connected to)."""
    host = url.raw_host.decode("ascii")
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    if not _HOST_NAME.fullmatch(host):
        raise RecordRejected(FETCH_STAGE, f"malformed host name {host!r}")
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in policy.resolver(host, url.port or 80)]
    except (OSError, UnicodeError, ValueError) as error:
        raise RecordRejected(FETCH_STAGE, f"cannot resolve {host}") from error
    if not addresses:
        raise RecordRejected(FETCH_STAGE, f"cannot resolve {host}")
    return addresses


def check_url(url: str, policy: FetchPolicy) -> Target:
    """The checked target of url: RecordRejected unless every address its host resolves to may be fetched.

    The message names the host as given, never the address it resolved to (that would map the inside network).
    """
    parsed = parse_url(url)
    addresses = _resolve(parsed, policy)
    if not all(_may_fetch(address, policy) for address in addresses):
        raise RecordRejected(FETCH_STAGE, f"{parsed.host} is not a public address: refused")
    return Target(parsed, addresses[0])


def _pinned_request(client: httpx.Client, target: Target, timeout_s: float) -> httpx.Request:
    """A GET sent to the checked address itself, with the URL's name as Host header and TLS server name."""
    url = target.url
    extensions: dict[str, Any] = {}
    if url.scheme == "https" and _literal_address(url.host) is None:
        extensions["sni_hostname"] = url.host
    return client.build_request(
        "GET", url.copy_with(host=str(target.address)), headers={"Host": url.netloc.decode("ascii")},
        timeout=timeout_s, extensions=extensions,
    )  # fmt: skip


def fetch_image(url: str, policy: FetchPolicy, client: httpx.Client) -> bytes:
    """The bytes at url, following a few redirects (each checked); RecordRejected or ImageUnavailable."""
    deadline = time.monotonic() + policy.timeout_s
    with _deadline(deadline):
        for _ in range(policy.max_redirects + 1):
            image, url = _fetch_hop(url, policy, client, deadline)
            if image is not None:
                return image
    raise RecordRejected(FETCH_STAGE, f"more than {policy.max_redirects} redirects from {url}")


def _fetch_hop(url: str, policy: FetchPolicy, client: httpx.Client, deadline: float) -> tuple[bytes | None, str]:
    """One checked request: (the image, url), or (None, the URL it redirects to)."""
    request = _pinned_request(client, check_url(url, policy), max(deadline - time.monotonic(), 0.001))
    try:
        with closing(client.send(request, stream=True, follow_redirects=False)) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return None, _redirect_url(url, response.headers["location"])
            return _read_image(url, response, policy, deadline), url
    except httpx.RemoteProtocolError as error:
        if str(error).startswith("Invalid URL in location header"):  # httpx parses it before we can
            raise RecordRejected(FETCH_STAGE, f"malformed redirect from {url}") from error
        raise ImageUnavailable(f"fetching {url} failed: {type(error).__name__}") from error
    except httpx.HTTPError as error:  # not the message: it may name the address connected to
        raise ImageUnavailable(f"fetching {url} failed: {type(error).__name__}") from error


def _redirect_url(base: str, location: str) -> str:
    """The absolute URL a redirect points to; RecordRejected when it cannot be made into one."""
    try:
        return urljoin(base, location)
    except ValueError as error:
        raise RecordRejected(FETCH_STAGE, f"malformed redirect: {error}") from error


def _read_image(url: str, response: httpx.Response, policy: FetchPolicy, deadline: float) -> bytes:
    """The body of a final response, checked for status, content type and size, read before the deadline."""
    if response.status_code >= 500:
        raise ImageUnavailable(f"{url} answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise RecordRejected(FETCH_STAGE, f"{url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").lower()
    if not content_type.startswith(_ACCEPTED_TYPES):
        raise RecordRejected(FETCH_STAGE, f"{url} is {content_type or 'of no content type'}, not an image")
    declared = response.headers.get("content-length", "0") or "0"
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise RecordRejected(FETCH_STAGE, f"image of {declared} bytes exceeds the limit of {policy.max_bytes}")
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > policy.max_bytes:
            raise RecordRejected(FETCH_STAGE, f"image exceeds the limit of {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise ImageUnavailable(f"fetching {url} took more than {policy.timeout_s} s")
    return bytes(body)


# --- the total deadline, enforced on every socket operation ---------------------------------------------------

_local = threading.local()


@contextmanager
def _deadline(at: float) -> Iterator[None]:
    """Make at the deadline of every socket operation of this thread's fetch client."""
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = None


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """timeout, shortened to what is left before this thread's deadline (error when nothing is left)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes end at the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """The sync network backend, with connects, reads and writes bounded by the fetch's deadline."""

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(super().connect_tcp(host, port, bounded, local_address, socket_options))


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over the deadline backend; no proxies from the environment."""

    def __init__(self, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=max_connections,
            max_keepalive_connections=max_connections, network_backend=_DeadlineBackend(),
        )  # fmt: skip


def fetch_client(user_agent: str, max_connections: int = 16) -> httpx.Client:
    """The HTTP client for fetch_image: every socket operation bounded by the fetch's total deadline."""
    return httpx.Client(
        headers={"User-Agent": user_agent}, transport=_DeadlineTransport(max_connections), trust_env=False
    )
