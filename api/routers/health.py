"""GET /healthz (the process answers), GET /readyz (model and stores), GET /metrics (Prometheus)."""

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from api.schemas import ComponentStatus, HealthStatus, ReadyStatus
from ingest.topics import kafka_problem

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthStatus, summary="Liveness")
async def healthz() -> HealthStatus:
    """200 while the process answers."""
    return HealthStatus(status="ok")


async def _check(name: str, probe: Callable[[], str]) -> tuple[str, ComponentStatus]:
    """Run one blocking probe (returns '' when fine, else the problem) in the thread pool."""
    try:
        problem = await run_in_threadpool(probe)
    except Exception as error:  # any failure of a probe means "not ready", with the reason
        problem = f"{type(error).__name__}: {error}"
    return name, ComponentStatus(ok=not problem, detail=problem or "ok")


@router.get(
    "/readyz",
    response_model=ReadyStatus,
    responses={503: {"model": ReadyStatus, "description": "a dependency is not ready"}},
    summary="Readiness",
)
async def readyz(runtime: RuntimeDep) -> Response:
    """200 when the model is loaded and Milvus, Solr and Kafka answer; 503 with each component's state if not."""
    checks = await asyncio.gather(
        _check("milvus", lambda: runtime.stores.vectors().problem()),
        _check("solr", lambda: runtime.stores.metadata().problem()),
        _check("kafka", lambda: kafka_problem(runtime.settings.stores.kafka_bootstrap_servers)),
    )
    components = {"model": ComponentStatus(ok=True, detail=f"{runtime.embedder.version} (dim {runtime.embedder.dim})")}
    components.update(dict(checks))
    ready = all(component.ok for component in components.values())
    body = ReadyStatus(status="ready" if ready else "not_ready", components=components)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Request counts and latency histograms per route, search stage and store latencies."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
