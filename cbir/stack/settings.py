"""Settings of the local stack, read from `CBIR_STACK_*` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


class StackSettings(BaseSettings):
    """Where the stack keeps its files, which ports it listens on, and how long it waits."""

    model_config = SettingsConfigDict(env_prefix="CBIR_STACK_")

    run_dir: Path = Path("run")
    deploy_dir: Path = REPO_ROOT / "deploy"
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    solr_port: int = Field(default=8983, ge=1, le=65535)
    milvus_port: int = Field(default=19530, ge=1, le=65535)
    solr_core: str = "catalog"
    java: str = "java"
    mvn: str = "mvn"
    # Small heaps and C1 only: quick start and little CPU, which suits tests and a laptop.
    jvm_opts: list[str] = ["-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0

    @property
    def cache_dir(self) -> Path:
        """Folder of the resolved JVM classpaths, one sub-folder per service."""
        return self.deploy_dir / "cache"

    def service_dir(self, service: str) -> Path:
        """Folder of one service's data and generated configuration inside the run folder."""
        return self.run_dir.resolve() / service


@lru_cache
def get_stack_settings() -> StackSettings:
    """The settings read once from the environment."""
    return StackSettings()
