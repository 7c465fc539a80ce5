"""Annotation (annotator key): mined clusters to name or skip, and relevance marks on search results."""

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import AnnotatorKeyDep, RuntimeDep
from api.errors import InvalidField, ProposalsNotFound
from api.runtime import Runtime
from api.schemas import ClusterDecision, ClusterDecisionResult, RelevanceMark, error_responses
from mining.annotations import append_jsonl, label_record, relabelled_message

router = APIRouter(prefix="/v1/annotate", tags=["annotate"])


def read_proposals(runtime: Runtime) -> dict[str, Any]:
    """The proposals `cbir mine` wrote; ProposalsNotFound if there are none."""
    path = runtime.settings.api.mining_proposals_path
    if not path.is_file():
        raise ProposalsNotFound(f"no proposals at {path}: run `cbir mine` first")
    proposals: dict[str, Any] = json.loads(path.read_text())
    return proposals


@router.get("/proposals", responses=error_responses(401, 403, 404), summary="Mined clusters (annotator key)")
async def proposals(runtime: RuntimeDep, _: AnnotatorKeyDep) -> dict[str, Any]:
    """The clusters of the last `cbir mine`, new-category proposals first, with their item ids."""
    return await run_in_threadpool(read_proposals, runtime)


def accept(runtime: Runtime, cluster: int, decision: ClusterDecision) -> ClusterDecisionResult:
    """Re-publish the kept items under the new category (the normal ingest path) and record the labels."""
    members = next((set(p["item_ids"]) for p in read_proposals(runtime)["proposals"] if p["cluster"] == cluster), None)
    if members is None:
        raise ProposalsNotFound(f"no cluster {cluster} in the proposals")
    kept = [item_id for item_id in decision.item_ids if item_id in members]
    items = runtime.stores.metadata().get(kept)
    category, crawled_at = str(decision.category), datetime.now(UTC)
    products = runtime.stores.metadata().product_items({item.product_id for item in items.values()})
    records = []
    for item in {**{other.id: other for other in products}, **items}.values():  # a new crawl of each product
        path = runtime.photos.path(item.photo_sha256)
        photo = path.read_bytes() if path else None
        runtime.products.publish(
            relabelled_message(item, category if item.id in items else item.category, photo, crawled_at)
        )
        if item.id in items:
            records.append(label_record(item, category, cluster))
    recorded = append_jsonl(runtime.settings.api.labels_path, records)
    return ClusterDecisionResult(cluster=cluster, action="accept", published=len(items), labels_recorded=recorded)


@router.post(
    "/clusters/{cluster}",
    response_model=ClusterDecisionResult,
    responses=error_responses(400, 401, 403, 404, 413, 422, 503),
    summary="Accept (name) or skip a mined cluster (annotator key)",
)
async def decide(cluster: int, decision: ClusterDecision, runtime: RuntimeDep, _: AnnotatorKeyDep) -> Any:
    """Accept: the kept photos get the category, through Kafka and the topology; skip: nothing changes."""
    if decision.action == "skip":
        return ClusterDecisionResult(cluster=cluster, action="skip", published=0, labels_recorded=0)
    if not decision.category or not decision.item_ids:
        raise InvalidField("accepting a cluster needs a category and the item_ids that belong to it")
    return await run_in_threadpool(accept, runtime, cluster, decision)


@router.post("/relevance", status_code=204, responses=error_responses(400, 401, 403, 413, 422), summary="Mark a result")
async def relevance(mark: RelevanceMark, runtime: RuntimeDep, _: AnnotatorKeyDep) -> None:
    """Record whether a result is relevant to its query, in the evaluation set (JSON lines)."""
    record = {**mark.model_dump(), "model_version": runtime.model_version}
    await run_in_threadpool(append_jsonl, runtime.settings.api.relevance_path, [record])
