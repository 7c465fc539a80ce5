"""The stores' credentials against the real services: a Solr node secured by the security.json `cbir
solr-security` writes (as docker-compose uploads it), and Milvus's token reaching its client."""

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import indexer.vector_store
from devstack.process import spawn, stop_session, wait_until
from devstack.settings import LOOPBACK, StackSettings
from devstack.solr import SolrService
from indexer.errors import StoreRequestRejected
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore
from indexer.solr_collection import SolrCollectionLayout, ensure_solr_collection
from indexer.solr_security import ADMIN_USER, security_json
from indexer.vector_store import VectorStore
from settings import StoreSettings
from tests.integration_fixtures import free_ports

USER, PASSWORD, ADMIN_PASSWORD = "cbir", "solr-secret", "admin-secret"


class _BasicAuthSolrCloud(BaseHTTPRequestHandler):
    """A stand-in for SolrCloud's collections API (the local stack runs Solr standalone, which has none): every
    GET gets an OK ping / collection list when the basic auth is right, 401 otherwise."""

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
def solr_cloud_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BasicAuthSolrCloud)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/solr/catalog"
    server.shutdown()
    server.server_close()


class SecuredSolr(SolrService):
    """The local stack's Solr node with the platform's security.json in its home (standalone Solr reads it there;
    SolrCloud, in docker-compose, from ZooKeeper)."""

    def prepare(self) -> None:
        super().prepare()
        security = security_json(ADMIN_PASSWORD, USER, PASSWORD)
        (self.dir / "home" / "security.json").write_text(json.dumps(security))

    def healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.core_url()}/admin/ping", params={"wt": "json"}, auth=(USER, PASSWORD))
            return response.status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture(scope="module")
def secured_solr(jvm_deps: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredSolr]:
    """A Solr node of its own, demanding basic auth, on a free port; stopped after the module."""
    settings = jvm_deps.model_copy(
        update={"run_dir": tmp_path_factory.mktemp("secured-solr"), "solr_port": free_ports(1)[0]}
    )
    solr = SecuredSolr(settings)
    solr.prepare()
    record = spawn(solr.argv(), solr.log_path, cwd=solr.dir)
    try:
        wait_until(solr.healthy, record, settings.start_timeout_s, "secured solr", solr.log_path)
        yield solr
    finally:
        stop_session(record, settings.stop_timeout_s)


@pytest.mark.integration
def test_the_platform_user_reads_and_writes_and_nobody_else_gets_in(secured_solr: SecuredSolr, make_item) -> None:
    stores = StoreSettings(solr_core_url=secured_solr.core_url(), solr_username=USER, solr_password=SecretStr(PASSWORD))
    store = MetadataStore.connect(stores.solr_core_url, timeout_s=5, auth=stores.solr_auth())
    item: CatalogItem = make_item(1)
    store.add([item])
    assert store.get([item.id])[item.id].title == item.title

    anonymous = MetadataStore.connect(stores.solr_core_url, timeout_s=5)  # a ping is a health check: open
    with pytest.raises(StoreRequestRejected, match="401"):
        anonymous.get([item.id])
    with pytest.raises(StoreRequestRejected, match="401"):
        anonymous.add([make_item(2)])
    with pytest.raises(StoreRequestRejected, match="401"):
        MetadataStore.connect(stores.solr_core_url, timeout_s=5, auth=(USER, "wrong"))
    base = f"http://{LOOPBACK}:{secured_solr.settings.solr_port}/solr"
    assert httpx.get(f"{base}/admin/info/health").status_code == 200  # the compose healthcheck needs no password
    assert httpx.get(f"{secured_solr.core_url()}/select", params={"q": "*:*"}).status_code == 401
    security = f"{base}/admin/authentication"
    assert httpx.get(security, auth=(USER, PASSWORD)).status_code == 403  # the platform user is no admin
    assert httpx.get(security, auth=(ADMIN_USER, ADMIN_PASSWORD)).status_code == 200


def test_the_collection_check_sends_solrs_basic_auth(solr_cloud_url: str) -> None:
    assert ensure_solr_collection(solr_cloud_url, SolrCollectionLayout(), timeout_s=2, auth=(USER, PASSWORD)) is False
    with pytest.raises(StoreRequestRejected, match="401"):
        ensure_solr_collection(solr_cloud_url, SolrCollectionLayout(), timeout_s=2)


def test_the_vector_store_passes_milvus_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """milvus-lite (the local stack's Milvus) has no authorization: what the client is built with is checked."""
    seen: dict[str, Any] = {}

    class Refused(Exception):
        pass

    def client(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise Refused

    monkeypatch.setattr(indexer.vector_store, "MilvusClient", client)
    stores = StoreSettings(milvus_token=SecretStr("root:milvus-secret"))
    with pytest.raises(Refused):
        VectorStore.from_settings(stores, "v1", 8)
    assert seen["token"] == "root:milvus-secret"
