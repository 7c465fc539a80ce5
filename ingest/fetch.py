"""Fetching a product photo by URL: timeouts, a size limit, content-type checks, and no internal addresses."""

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.errors import IngestError, RecordRejected

FETCH_STAGE = "fetch"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_ACCEPTED_TYPES = ("image/", "application/octet-stream")
_REDIRECTS = {301, 302, 303, 307, 308}


class ImageUnavailable(IngestError):
    """The image server did not answer properly (timeout, connection refused, 5xx): trying later may work."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; addresses in allowed_networks are fetched even if loopback or private."""

    timeout_s: float = 5.0
    max_bytes: int = 5 * 1024 * 1024
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    max_redirects: int = 3

    @classmethod
    def of(cls, timeout_s: float, max_bytes: int, allowed_networks: list[str]) -> "FetchPolicy":
        """A policy from settings (networks in CIDR notation)."""
        networks = tuple(ipaddress.ip_network(n) for n in allowed_networks)
        return cls(timeout_s=timeout_s, max_bytes=max_bytes, allowed_networks=networks)


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is not a public unicast one."""
    return (
        address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )  # fmt: skip


def _check_address(hostname: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: FetchPolicy) -> None:
    """RecordRejected if the address is internal and not in an allowed network."""
    if _internal(address) and not any(address in network for network in policy.allowed_networks):
        raise RecordRejected(FETCH_STAGE, f"{hostname} resolves to internal address {address}: refused")


def check_url(url: str, policy: FetchPolicy) -> None:
    """RecordRejected unless url is http(s) and every address its host resolves to may be fetched."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecordRejected(FETCH_STAGE, f"not an http(s) URL: {url}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise RecordRejected(FETCH_STAGE, f"cannot resolve {parts.hostname}: {error}") from error
    for info in infos:
        _check_address(parts.hostname, ipaddress.ip_address(info[4][0]), policy)


def check_peer(url: str, response: httpx.Response, policy: FetchPolicy) -> None:
    """RecordRejected if the connection went to a refused address after all: the name may have resolved
    differently when the client connected than when check_url looked (DNS rebinding)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer is None:
        raise RecordRejected(FETCH_STAGE, f"cannot tell which address {url} was fetched from: refused")
    _check_address(urlsplit(url).hostname or "", ipaddress.ip_address(peer[0]), policy)


def fetch_image(url: str, policy: FetchPolicy, client: httpx.Client) -> bytes:
    """The bytes at url, following a few redirects (each checked); RecordRejected or ImageUnavailable."""
    for _ in range(policy.max_redirects + 1):
        check_url(url, policy)
        try:
            with client.stream("GET", url, timeout=policy.timeout_s, follow_redirects=False) as response:
                check_peer(url, response, policy)  # before reading anything it sent
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                return _read_image(url, response, policy)
        except httpx.HTTPError as error:
            raise ImageUnavailable(f"fetching {url} failed: {type(error).__name__} {error}") from error
    raise RecordRejected(FETCH_STAGE, f"more than {policy.max_redirects} redirects from {url}")


def _read_image(url: str, response: httpx.Response, policy: FetchPolicy) -> bytes:
    """The body of a final response, checked for status, content type and size."""
    if response.status_code >= 500:
        raise ImageUnavailable(f"{url} answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise RecordRejected(FETCH_STAGE, f"{url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").lower()
    if not content_type.startswith(_ACCEPTED_TYPES):
        raise RecordRejected(FETCH_STAGE, f"{url} is {content_type or 'of no content type'}, not an image")
    declared = int(response.headers.get("content-length", "0") or 0)
    if declared > policy.max_bytes:
        raise RecordRejected(FETCH_STAGE, f"image of {declared} bytes exceeds the limit of {policy.max_bytes}")
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > policy.max_bytes:
            raise RecordRejected(FETCH_STAGE, f"image exceeds the limit of {policy.max_bytes} bytes")
    return bytes(body)
