"""A Milvus server for several client processes: milvus-lite in server mode (the real gRPC API)."""

import sys

from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from cbir.stack.process import port_accepts
from cbir.stack.service import Service
from cbir.stack.settings import LOOPBACK


class MilvusService(Service):
    """`milvus-lite server` bound to 127.0.0.1 with its data in the run folder."""

    name = "milvus"

    def ports(self) -> dict[str, int]:
        return {"milvus_port": self.settings.milvus_port}

    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.milvus_port}"

    def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.dir / "data"),
            "--host", LOOPBACK, "--port", str(self.settings.milvus_port),
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        limit = self.settings.milvus_memtable_limit_mb * 1024 * 1024
        return {"MILVUS_LITE_MEMTABLE_MEMORY_LIMIT_BYTES": str(limit)}

    def healthy(self) -> bool:
        if not port_accepts(LOOPBACK, self.settings.milvus_port):
            return False
        try:
            client = MilvusClient(uri=self.address(), timeout=3.0)
            client.list_collections()
            client.close()
            return True
        except MilvusException:
            return False
