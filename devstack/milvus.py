"""A Milvus server for several client processes: milvus-lite 2.5's C++ server (the real gRPC API) on loopback."""

import importlib.util
import uuid
from pathlib import Path

from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from devstack.process import port_accepts
from devstack.service import Service
from devstack.settings import LOOPBACK


def milvus_lite_lib() -> Path:
    """milvus-lite's `milvus` binary and the libraries it links (found without importing milvus_lite, whose
    __init__ warns about pkg_resources)."""
    spec = importlib.util.find_spec("milvus_lite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("milvus-lite is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "lib"


DB_FILE = "catalog.db"  # one data file for every collection; milvus-lite wants a short [A-Za-z0-9._-] name
LOG_LEVEL = "ERROR"


class MilvusService(Service):
    """milvus-lite's `milvus` binary serving one .db file over TCP on 127.0.0.1 only.

    The binary is started directly (not through `milvus_lite.server.Server`, whose wrapper would leave it
    running when the wrapper dies), so the recorded PID is the server itself and `stack down` stops it.
    """

    name = "milvus"

    def ports(self) -> dict[str, int]:
        return {"milvus_port": self.settings.milvus_port}

    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.milvus_port}"

    def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        db_file = self.dir / "data" / DB_FILE
        return [str(milvus_lite_lib() / "milvus"), str(db_file), f"{LOOPBACK}:{self.settings.milvus_port}", LOG_LEVEL]

    def env(self) -> dict[str, str]:
        return {"LD_LIBRARY_PATH": str(milvus_lite_lib())}

    def healthy(self) -> bool:
        if not port_accepts(LOOPBACK, self.settings.milvus_port):
            return False
        try:
            # a connection of its own: pymilvus 2.5 shares one per URI, and close() would end the others'
            client = MilvusClient(uri=self.address(), timeout=3.0, alias=f"health-{uuid.uuid4().hex}")
            client.list_collections()
            client.close()
            return True
        except MilvusException:
            return False
