"""`cbir mine` on the real Milvus: reads every vector of the model's collection and writes the proposals."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from embedder.checkpoint import file_sha256
from indexer.item import CatalogItem
from indexer.vector_store import VectorStore
from tests.mining.test_proposals import blobs


def test_mine_reads_the_collection_and_proposes_the_unlabelled_cluster(
    milvus_uri: str, collection_prefix: str, tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CBIR_STORES_MILVUS_COLLECTION_PREFIX", collection_prefix)  # the module's collection alone
    version = file_sha256(tiny_checkpoint)[:12]
    vectors, categories = blobs(["shirt", "dress", "hat", "unlabelled"], per_blob=40)
    items = [
        CatalogItem(
            id=f"{i:064x}",
            photo_sha256=f"{i:064x}",
            product_id=f"P{i}",
            title=f"item {i}",
            brand="Acme",
            category=category,
            colour="blue",
            price=10.0,
            currency="EUR",
            product_url=f"https://x.example/p/{i}",
            image_url=f"https://x.example/{i}.jpg",
            source_site="x.example",
            crawled_at="2026-01-02T03:04:05Z",
            in_stock=True,
            model_version=version,
        )  # fmt: skip
        for i, category in enumerate(categories)
    ]
    store = VectorStore.connect(milvus_uri, version, vectors.shape[1], collection_prefix=collection_prefix)
    try:
        store.upsert(items, vectors)
        store.flush()
        out = tmp_path / "proposals.json"
        result = CliRunner().invoke(
            app,
            [
                "mine",
                "--model",
                str(tiny_checkpoint),
                "--milvus-uri",
                milvus_uri,
                "--out",
                str(out),
                "--min-size",
                "5",
                "--no-progress",
            ],  # fmt: skip
        )
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text())
        assert report["items"] == len(items) and report["model_version"] == version
        unlabelled = {item.id for item in items if item.category == "unlabelled"}
        new = [p for p in report["proposals"] if p["kind"] == "new_category"]
        assert any(len(unlabelled & set(p["item_ids"])) >= 0.8 * p["size"] for p in new)
    finally:
        store.drop()
