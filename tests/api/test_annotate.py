"""Annotation on the real stores: mined clusters are served, an accepted cluster is re-published through Kafka
with its new category and recorded as labels, relevance marks land in the evaluation set; the page does it all."""

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from api.app import create_app
from indexer.item import item_id, photo_sha256
from indexer.vector_store import VectorStore
from ingest.message import UpsertMessage, parse_message
from mining.proposals import MiningSettings, propose
from settings import Settings
from tests.api.conftest import ApiCatalog, LiveServer
from tests.ingest.kafka_helpers import read_topic

ANNOTATOR_KEY = "annotator-key-0123456789"
REPORTS = Path(__file__).resolve().parents[2] / "reports"


@pytest.fixture
def annotate_settings(api_settings: Settings, api_catalog: ApiCatalog, milvus_uri: str, tmp_path: Path) -> Settings:
    """The test API with annotator keys, its own topic and proposals mined from the catalog, 'shoe' unlabelled."""
    store = VectorStore.from_settings(api_settings.stores, api_catalog.model_version, 16)
    vectors = store.get_vectors([item.id for item in api_catalog.items])
    ids = list(vectors)
    by_id = {item.id: item for item in api_catalog.items}
    categories = ["unlabelled" if by_id[i].category == "shoe" else by_id[i].category for i in ids]
    report = propose(np.stack([vectors[i] for i in ids]), ids, categories, MiningSettings(3, 3))
    proposals = tmp_path / "proposals.json"
    proposals.write_text(json.dumps(report.to_dict()))
    return api_settings.changed(api={
        "annotator_keys": [SecretStr(ANNOTATOR_KEY)],
        "mining_proposals_path": proposals, "labels_path": tmp_path / "labels.jsonl",
        "relevance_path": tmp_path / "relevance.jsonl",
    }, stores={"topic": f"annotate-{uuid.uuid4().hex[:8]}"})  # fmt: skip


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file (none if it does not exist yet)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def new_category_cluster(client: TestClient) -> dict:
    response = client.get("/v1/annotate/proposals", headers={"X-API-Key": ANNOTATOR_KEY})
    assert response.status_code == 200, response.text
    return next(p for p in response.json()["proposals"] if p["kind"] == "new_category")


def test_annotation_needs_an_annotator_key_and_proposals(annotate_settings: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(annotate_settings)) as client:
        assert client.get("/v1/annotate/proposals").status_code == 401
        assert client.get("/v1/annotate/proposals", headers={"X-API-Key": "nope"}).status_code == 403
    missing = annotate_settings.changed(api={"mining_proposals_path": tmp_path / "none.json"})
    with TestClient(create_app(missing)) as client:
        response = client.get("/v1/annotate/proposals", headers={"X-API-Key": ANNOTATOR_KEY})
    assert response.status_code == 404 and response.json()["error"]["code"] == "proposals_not_found"


def test_accepting_a_cluster_republishes_the_kept_photos_and_records_labels(
    annotate_settings: Settings, api_catalog: ApiCatalog, kafka_bootstrap: str
) -> None:
    with TestClient(create_app(annotate_settings)) as client:
        cluster = new_category_cluster(client)
        kept = cluster["item_ids"][1:]  # the annotator unticks the first photo
        response = client.post(
            f"/v1/annotate/clusters/{cluster['cluster']}", headers={"X-API-Key": ANNOTATOR_KEY},
            json={"action": "accept", "category": "sneaker", "item_ids": kept},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["published"] == len(kept) == response.json()["labels_recorded"]
        query, result = api_catalog.items[0].id, api_catalog.items[1].id
        mark = {"query_item_id": query, "result_item_id": result, "relevant": False}
        assert client.post("/v1/annotate/relevance", json=mark, headers={"X-API-Key": ANNOTATOR_KEY}).status_code == 204
    by_id = {item.id: item for item in api_catalog.items}
    products = {by_id[i].product_id for i in kept}
    photos = [item for item in api_catalog.items if item.product_id in products]  # each product's photos: a crawl
    messages = [
        parse_message(r.value) for r in read_topic(kafka_bootstrap, annotate_settings.stores.topic, len(photos))
    ]
    assert len(messages) == len(photos) and len({m.crawled_at for m in messages}) == 1
    assert all(isinstance(m, UpsertMessage) and m.image_bytes() in api_catalog.photos.values() for m in messages)
    categories = {item_id(m.product_id, photo_sha256(m.image_bytes() or b"")): m.category for m in messages}
    assert categories == {item.id: "sneaker" if item.id in kept else item.category for item in photos}
    labels = read_jsonl(annotate_settings.api.labels_path)
    assert sorted(label["item_id"] for label in labels) == sorted(kept) and labels[0]["category"] == "sneaker"
    assert read_jsonl(annotate_settings.api.relevance_path)[0]["relevant"] is False


def test_a_cluster_not_in_the_proposals_is_404(annotate_settings: Settings) -> None:
    with TestClient(create_app(annotate_settings)) as client:
        body = {"action": "accept", "category": "x", "item_ids": ["0" * 64]}
        response = client.post("/v1/annotate/clusters/999", json=body, headers={"X-API-Key": ANNOTATOR_KEY})
    assert response.status_code == 404


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.integration
def test_the_page_names_a_cluster_removes_noise_and_accepts(
    browser: webdriver.Chrome, annotate_settings: Settings
) -> None:
    wait = WebDriverWait(browser, 30)
    with LiveServer(create_app(annotate_settings)) as server:
        browser.get(f"{server.url}/annotate")
        browser.find_element(By.ID, "key").send_keys(ANNOTATOR_KEY)
        browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#photos input[type=checkbox]")) > 1)
        wait.until(lambda d: d.execute_script("return [...document.images].every(img => img.complete)"))
        boxes = browser.find_elements(By.CSS_SELECTOR, "#photos input[type=checkbox]")
        boxes[0].click()  # noise out
        browser.find_element(By.ID, "category-name").send_keys("sneaker")
        REPORTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(REPORTS / "annotate-page.png"))
        browser.find_element(By.ID, "accept").click()
        wait.until(lambda d: "Accepted" in d.find_element(By.ID, "status").text)
        assert f"{len(boxes) - 1} photos re-published" in browser.find_element(By.ID, "status").text
    assert len(read_jsonl(annotate_settings.api.labels_path)) == len(boxes) - 1
