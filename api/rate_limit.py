"""Per-client rate limits (token buckets), one per kind of request, refused with 429 and `Retry-After`.

The client is the peer address of the connection (behind a reverse proxy, run uvicorn with `--proxy-headers`
and `--forwarded-allow-ips` so that this is the shopper's address, not the proxy's).
"""

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from api.error_handlers import error_body

Classify = Callable[[str, str], str | None]  # (method, path) -> name of the limit, None when unlimited


class TokenBuckets:
    """rate_per_s requests a second per client, in bursts of up to burst; the least recently seen clients
    beyond max_clients are forgotten (so a flood of addresses cannot exhaust memory)."""

    def __init__(
        self, rate_per_s: float, burst: int, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)

    def take(self, client: str) -> float:
        """0 when client may send a request now (a token is taken), else the seconds until it may."""
        now = self.clock()
        tokens, when = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - when) * self.rate_per_s)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate_per_s
        self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """ASGI middleware: each request of a limited kind takes a token of its client's bucket, before its body is
    read; without one it gets 429 with `Retry-After` (whole seconds) and is counted in the metrics."""

    def __init__(
        self, app: ASGIApp, limits: dict[str, TokenBuckets], classify: Classify, refused: Callable[[str], Counter]
    ) -> None:
        self.app = app
        self.limits = limits
        self.classify = classify
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self.classify(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if kind is None or kind not in self.limits:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.limits[kind].take(client)
        if wait == 0:
            await self.app(scope, receive, send)
            return
        self.refused(kind).inc()
        await _refuse(send, kind, math.ceil(wait))


async def _refuse(send: Send, kind: str, retry_after_s: int) -> None:
    """A 429 response with the API's error body."""
    body = json.dumps(error_body("rate_limited", f"too many {kind} requests: retry in {retry_after_s} s"))
    headers = [(b"content-type", b"application/json"), (b"retry-after", str(retry_after_s).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
