"""Prometheus metrics of one app: requests and latency per route template, query stages, store calls."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
RECALL_BUCKETS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)


class ApiMetrics:
    """The app's collectors, in a registry of its own (two apps in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cbir_api_requests", "HTTP requests by route template and status", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "cbir_api_request_duration_seconds", "Request latency by route template", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stages = Histogram(
            "cbir_api_stage_duration_seconds", "Time in each stage of a search (decode, embed, vector, ...)",
            ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stores = Histogram(
            "cbir_api_store_duration_seconds", "Latency of calls to Milvus, Solr and Kafka",
            ["store", "operation"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.rate_limited = Counter(
            "cbir_api_rate_limited", "Requests refused with 429 by the per-client rate limits", ["limit"],
            registry=self.registry,
        )  # fmt: skip
        self.shed = Counter(
            "cbir_api_shed", "Requests refused with 503 because a work pool was full", ["pool"], registry=self.registry
        )
        self.model_switches = Counter(
            "cbir_api_model_switches", "Times this process switched models after a promotion or a rollback",
            registry=self.registry,
        )  # fmt: skip
        self.recall = Histogram(
            "cbir_api_canary_recall_at_10", "Recall@10 of the vector index on sampled real queries, against exact "
            "search (indexer/recall_canary.py)", buckets=RECALL_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.recall_last_round = Gauge(
            "cbir_api_canary_recall_at_10_last_round", "Mean recall@10 of the canary's latest round",
            registry=self.registry,
        )  # fmt: skip

    def observe_recall(self, recalls: list[float]) -> None:
        """One canary round's recall@10, one value per sampled query."""
        for recall in recalls:
            self.recall.observe(recall)
        self.recall_last_round.set(sum(recalls) / len(recalls))

    @contextmanager
    def store_call(self, store: str, operation: str) -> Iterator[None]:
        """Time one store call (failed calls included)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stores.labels(store, operation).observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Count and time every request by its route template (`/v1/items/{item_id}`, not the concrete path)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], ApiMetrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                route = _route_template(scope)
                metrics.requests.labels(scope["method"], route, str(status)).inc()
                metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    """The matched route's path template, or `unmatched` (so random paths cannot blow up label cardinality)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
