"""The stores' credentials reach the wire: Solr's basic auth (against a loopback server that demands it, as Solr's
BasicAuthPlugin does) and Milvus's token."""

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import indexer.vector_store
from indexer.errors import StoreRequestRejected
from indexer.metadata_store import MetadataStore
from indexer.solr_collection import SolrCollectionLayout, ensure_solr_collection
from indexer.vector_store import VectorStore
from settings import StoreSettings

USER, PASSWORD = "cbir", "solr-secret"


class _BasicAuthSolr(BaseHTTPRequestHandler):
    """Answers every GET with an OK ping / collection list when the basic auth is right, 401 otherwise."""

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._answer(401, b'{"error": {"msg": "require authentication", "code": 401}}')
        else:
            self._answer(200, b'{"status": "OK", "collections": ["catalog"]}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def solr_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BasicAuthSolr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/solr/catalog"
    server.shutdown()
    server.server_close()


def test_the_metadata_store_sends_solrs_basic_auth(solr_url: str) -> None:
    stores = StoreSettings(solr_core_url=solr_url, solr_username=USER, solr_password=PASSWORD)  # type: ignore[arg-type]
    store = MetadataStore.connect(stores.solr_core_url, timeout_s=2, auth=stores.solr_auth())
    assert store.solr.auth == (USER, PASSWORD)
    with pytest.raises(StoreRequestRejected, match="401"):
        MetadataStore.connect(solr_url, timeout_s=2)


def test_the_collection_check_sends_solrs_basic_auth(solr_url: str) -> None:
    assert ensure_solr_collection(solr_url, SolrCollectionLayout(), timeout_s=2, auth=(USER, PASSWORD)) is False
    with pytest.raises(StoreRequestRejected, match="401"):
        ensure_solr_collection(solr_url, SolrCollectionLayout(), timeout_s=2)


def test_the_vector_store_passes_milvus_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class Refused(Exception):
        pass

    def client(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise Refused  # no Milvus here: what the client was built with is the point

    monkeypatch.setattr(indexer.vector_store, "MilvusClient", client)
    stores = StoreSettings(milvus_token="root:milvus-secret")  # type: ignore[arg-type]
    with pytest.raises(Refused):
        VectorStore.connect(stores.milvus_uri, "v1", 8, token=stores.milvus_token_value())
    assert seen["token"] == "root:milvus-secret"
