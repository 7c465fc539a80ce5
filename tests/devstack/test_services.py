import re
from pathlib import Path

from devstack.kafka import KafkaService, new_cluster_id
from devstack.milvus import MilvusService
from devstack.settings import StackSettings


def test_kafka_listens_on_loopback_only(tmp_path: Path) -> None:
    properties = KafkaService(StackSettings(run_dir=tmp_path, kafka_port=1234, kafka_controller_port=1235))
    text = properties._properties()
    assert "listeners=PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:1235" in text
    assert "controller.quorum.voters=1@127.0.0.1:1235" in text
    assert not re.search(r"0\.0\.0\.0|localhost", text)


def test_milvus_serves_one_db_file_on_loopback_only(tmp_path: Path) -> None:
    service = MilvusService(StackSettings(run_dir=tmp_path, milvus_port=4321))
    binary, db_file, address, _level = service.argv()
    assert Path(binary).name == "milvus" and Path(binary).is_file()
    assert db_file == str(tmp_path / "milvus" / "data" / "catalog.db")
    assert address == "127.0.0.1:4321"
    assert service.env() == {"LD_LIBRARY_PATH": str(Path(binary).parent)}


def test_cluster_ids_look_like_kafka_storage_random_uuid() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id) for cluster_id in ids)
