"""Session fixtures that start the real stack (Kafka, Solr, Milvus) once, on free loopback ports, and stop it.

Load them from tests/conftest.py with `pytest_plugins = ["tests.integration_fixtures"]`. The first run also
resolves the JVM artifacts with Maven (about a minute with an empty ~/.m2); later runs start in ~15 s.
"""

import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from devstack.jvm import resolve_jvm_deps
from devstack.launcher import Stack
from devstack.settings import LOOPBACK, StackSettings
from settings import StoreSettings


def free_ports(count: int) -> list[int]:
    """count distinct ports that are free right now (all held open until every one is chosen)."""
    with ExitStack() as sockets:
        ports = []
        for _ in range(count):
            sock = sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> StackSettings:
    """Settings of the test stack: its own run folder and free ports, so a developer's stack is left alone."""
    kafka, controller, solr, milvus = free_ports(4)
    return StackSettings(
        run_dir=tmp_path_factory.mktemp("stack-run"),
        kafka_port=kafka,
        kafka_controller_port=controller,
        solr_port=solr,
        milvus_port=milvus,
    )


@pytest.fixture(scope="session")
def jvm_deps(stack_settings: StackSettings) -> StackSettings:
    """The stack settings, once the JVM artifacts are in deploy/cache/ (Maven runs only if they are not)."""
    resolve_jvm_deps(stack_settings)
    return stack_settings


@pytest.fixture(scope="session")
def stack(jvm_deps: StackSettings) -> Iterator[Stack]:
    """The running stack; stopped (exactly the processes it started) at the end of the session."""
    running = Stack(jvm_deps)
    try:
        running.up()
        yield running
    finally:
        running.down()


@pytest.fixture(scope="session")
def milvus_uri(stack: Stack) -> str:
    """URI of the test Milvus server."""
    return f"http://{LOOPBACK}:{stack.settings.milvus_port}"


@contextmanager
def own_solr_core(stack: Stack, name: str) -> Iterator[str]:
    """A new, empty core of the catalog configset on the test Solr (its URL), unloaded and deleted afterwards."""
    admin = f"http://{LOOPBACK}:{stack.settings.solr_port}/solr/admin/cores"
    create = {"action": "CREATE", "name": name, "instanceDir": name, "configSet": stack.settings.solr_core}
    httpx.get(admin, params={**create, "wt": "json"}, timeout=60).raise_for_status()
    try:
        yield f"http://{LOOPBACK}:{stack.settings.solr_port}/solr/{name}"
    finally:
        unload = {"action": "UNLOAD", "core": name, "deleteInstanceDir": "true", "wt": "json"}
        httpx.get(admin, params=unload, timeout=60).raise_for_status()


def module_store_name(request: pytest.FixtureRequest) -> str:
    """t<test module path, letters and digits>: the name of the test module's own Solr core and Milvus collection
    prefix (which may hold no '_': `StoreSettings.milvus_collection_prefix`)."""
    return "t" + re.sub(r"[^0-9A-Za-z]", "", request.module.__name__.removeprefix("tests."))


@pytest.fixture(scope="module")
def solr_core_url(stack: Stack, request: pytest.FixtureRequest) -> Iterator[str]:
    """A Solr core of this test module alone, so that no module sees another's documents, in whatever order they
    run."""
    with own_solr_core(stack, module_store_name(request)) as url:
        yield url


@pytest.fixture(scope="module")
def collection_prefix(request: pytest.FixtureRequest) -> str:
    """The Milvus collection prefix of this test module alone: a product deleted by one module's test leaves every
    collection of its prefix (`VectorStore.delete_products`), so modules must not share one."""
    return module_store_name(request)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    """Bootstrap servers of the test Kafka broker."""
    return f"{LOOPBACK}:{stack.settings.kafka_port}"


@pytest.fixture
def kafka_stores(kafka_bootstrap: str) -> StoreSettings:
    """Store settings that reach the test Kafka broker (no SASL: the test stack has no authentication)."""
    return StoreSettings(kafka_bootstrap_servers=kafka_bootstrap)


@pytest.fixture
def dead_port() -> int:
    """A loopback port where nothing listens (a store that is down)."""
    return free_ports(1)[0]
