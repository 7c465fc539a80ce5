"""A model promotion on the real catalog while clients search the API: its timeline and what searches saw.

Usage: python -m bench.promotion --model models/catalog.pt --new NEW.pt
Needs a running stack (`make stack-up`). In a Solr core and Milvus collection prefix of its own (`benchpromo`,
removed at the end) it bulk-loads --catalog with --model (each photo into a temporary photo store), starts the
API on that model in a subprocess, and searches it from --clients threads without pause, each search by a catalog
photo that must find its own item in the top 5. Meanwhile it runs `cbir model promote NEW` as an operator would
(gate on --eval-set), waits until the API answers with the new model, and keeps searching for --after seconds.
Writes reports/bench-promotion.json: the promotion's report (gate, re-embedding rate, catch-up, switch time), the
searches served before, during and after it, their failures and misses, and their latency per phase.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.report_file import write_report
from devstack.process import free_port
from devstack.settings import stack_settings_of
from embedder import Embedder
from indexer.bulk_load import bulk_load
from indexer.catalog_index import CatalogIndex
from indexer.folder_images import list_class_folder
from indexer.item import item_id, photo_sha256
from indexer.model_registry import ModelRegistry
from indexer.photo_store import PhotoStore
from ingest.topics import ensure_ingest_topics
from settings import IndexerSettings, StoreSettings

PREFIX = "benchpromo"
CORE = "benchpromo"
POLL_S = 2.0


@dataclass
class Phase:
    """Searches of one phase: before, during or after the promotion."""

    served: int = 0
    failed: int = 0
    missed: int = 0  # the query photo's own item not in the top 5
    latencies_ms: list[float] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)

    def summary(self, seconds: float) -> dict[str, Any]:
        lat = np.asarray(self.latencies_ms or [0.0])
        return {
            "served": self.served, "failed": self.failed, "missed": self.missed, "seconds": round(seconds, 1),
            "req_per_s": round(self.served / seconds, 1) if seconds else None,
            "p50_ms": round(float(np.percentile(lat, 50)), 1), "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "answered_by_model": self.models,
        }  # fmt: skip


class Searchers:
    """Client threads searching by catalog photos, counting into the current phase."""

    def __init__(self, url: str, queries: list[tuple[str, bytes]], clients: int) -> None:
        self.phases = {name: Phase() for name in ("before", "during", "after")}
        self.phase = "before"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.last_model = ""
        self.threads = [
            threading.Thread(target=self._run, args=(url, queries[n::clients]), daemon=True) for n in range(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self, url: str, queries: list[tuple[str, bytes]]) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not self.stop.is_set():
                for wanted, photo in queries:
                    if self.stop.is_set():
                        return
                    started = time.perf_counter()
                    response = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                                           data={"k": "5"})  # fmt: skip
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    with self.lock:
                        phase = self.phases[self.phase]
                        phase.served += 1
                        phase.latencies_ms.append(elapsed_ms)
                        if response.status_code != 200:
                            phase.failed += 1
                            continue
                        body = response.json()
                        self.last_model = body["model_version"]
                        phase.models[self.last_model] = phase.models.get(self.last_model, 0) + 1
                        if wanted not in [hit["id"] for hit in body["hits"]]:
                            phase.missed += 1


def solr_core(stack: Any, action: str) -> str:
    """Create or unload the bench's own Solr core (the catalog configset); its URL."""
    admin = f"http://127.0.0.1:{stack.solr_port}/solr/admin/cores"
    params = (
        {"action": "CREATE", "name": CORE, "instanceDir": CORE, "configSet": stack.solr_core}
        if action == "create"
        else {"action": "UNLOAD", "core": CORE, "deleteInstanceDir": "true"}
    )
    httpx.get(admin, params={**params, "wt": "json"}, timeout=120).raise_for_status()
    return f"http://127.0.0.1:{stack.solr_port}/solr/{CORE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"), help="the serving model")
    parser.add_argument("--new", type=Path, required=True, help="the model to promote")
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small/train"))
    parser.add_argument("--eval-set", type=Path, default=Path("../shared/datasets/clothing-small/validation"))
    parser.add_argument("--tolerance", type=float, default=0.0, help="the gate's (cbir model promote --tolerance)")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--before", type=float, default=10.0, help="seconds of searching before promoting")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of searching after the switch")
    parser.add_argument("--run-dir", type=Path, default=None, help="run folder of `cbir stack up` (default: run)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-promotion.json"))
    args = parser.parse_args()

    stack = stack_settings_of(args.run_dir)
    solr_url = solr_core(stack, "create")
    photo_dir = Path(tempfile.mkdtemp(prefix="bench-promotion-photos-"))
    stores = StoreSettings(milvus_uri=stack.milvus_uri(), solr_core_url=solr_url, milvus_collection_prefix=PREFIX,
                           kafka_bootstrap_servers=stack.kafka_bootstrap(), photo_store=photo_dir)  # fmt: skip
    env = {
        **os.environ, "CBIR_EMBEDDING_MODEL_PATH": str(args.model.resolve()),
        "CBIR_STORES_MILVUS_URI": stores.milvus_uri,
        "CBIR_STORES_SOLR_CORE_URL": solr_url, "CBIR_STORES_MILVUS_COLLECTION_PREFIX": PREFIX,
        "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS": stores.kafka_bootstrap_servers,
        "CBIR_STORES_PHOTO_STORE": str(photo_dir), "CBIR_EMBEDDING_MODEL_POLL_S": str(POLL_S),
        "CBIR_API_SEARCH_RATE_PER_S": "0", "CBIR_API_RERANK": "none",
    }  # fmt: skip
    api: subprocess.Popen[bytes] | None = None
    try:
        ensure_ingest_topics(stores, partitions=1)
        embedder = Embedder.load(args.model)
        index = CatalogIndex.from_settings(stores, IndexerSettings(), embedder.version, embedder.dim)
        images = list_class_folder(args.catalog)
        loaded = bulk_load(images, embedder, index, photos=PhotoStore(photo_dir))
        queries = []
        for image in images[:: max(1, len(images) // 400)]:  # ~400 query photos, each an indexed item's own
            data = image.path.read_bytes()
            queries.append((item_id(image.catalog_fields(data)["product_id"], photo_sha256(data)), data))
        port = free_port()
        api = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--port",
                                str(port), "--log-level", "warning", "--no-access-log"], env=env)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not become ready")
            time.sleep(0.5)
        searchers = Searchers(url, queries, args.clients)
        searchers.start()
        time.sleep(args.before)
        phase_started = {"before": time.monotonic() - args.before, "during": time.monotonic()}
        searchers.phase = "during"
        promote = subprocess.run(
            [sys.executable, "-m", "cbir.cli", "model", "promote", str(args.new), "--eval-set", str(args.eval_set),
             "--tolerance", str(args.tolerance), "--record", str(photo_dir / "promotions.jsonl")],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        new_version = Embedder.load(args.new).version
        deadline = time.monotonic() + 60
        while searchers.last_model != new_version and promote.returncode == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        phase_started["after"] = time.monotonic()
        searchers.phase = "after"
        time.sleep(args.after)
        searchers.join()
        ended = time.monotonic()
        durations = {
            "before": phase_started["during"] - phase_started["before"],
            "during": phase_started["after"] - phase_started["during"],
            "after": ended - phase_started["after"],
        }
        if promote.returncode != 0:
            print(promote.stdout[-3000:], promote.stderr[-3000:])
        promotion = json.loads(promote.stdout[promote.stdout.index("{") :]) if promote.returncode == 0 else None
        report = {
            "command": " ".join(["python -m bench.promotion", *sys.argv[1:]]),
            "catalog": str(args.catalog), "items": loaded.indexed, "query_photos": len(queries),
            "clients": args.clients, "model": embedder.version, "new_model": new_version,
            "registry_poll_s": POLL_S, "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(),
            "promote_exit_code": promote.returncode, "promotion": promotion,
            "searches": {name: searchers.phases[name].summary(durations[name]) for name in durations},
            "note": "during = from starting `cbir model promote` until the first answer of the new model; the "
            "promotion's own wait for the ingest (two registry polls) is part of it",
        }  # fmt: skip
        write_report(args.out, report)
        print(json.dumps({k: v for k, v in report.items() if k != "promotion"}, indent=2))
        if promotion:
            print(f"re-embedded {promotion['build']['added']} items at {promotion['items_per_s']} items/s; switch "
                  f"{promotion['switch_s'] * 1000:.0f} ms; gate {promotion['gate']}")  # fmt: skip
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        registry = ModelRegistry.connect(stores)
        for name in registry.client.list_collections():
            if name.startswith(f"{PREFIX}_"):
                registry.client.drop_collection(name)
        solr_core(stack, "unload")


if __name__ == "__main__":
    main()
