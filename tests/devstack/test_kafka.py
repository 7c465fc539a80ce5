from pathlib import Path

from devstack.kafka import KafkaService, broker_properties
from devstack.settings import StackSettings


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_every_node_of_a_three_node_cluster_votes_and_replicates_internal_topics_three_times() -> None:
    text = broker_properties(2, [9001, 9002, 9003], [9011, 9012, 9013], Path("/data"))
    properties = _properties(text)
    assert properties["node.id"] == "2"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:9011,2@127.0.0.1:9012,3@127.0.0.1:9013"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9012"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9002"
    assert properties["offsets.topic.replication.factor"] == properties["default.replication.factor"] == "3"
    assert properties["transaction.state.log.min.isr"] == "2"


def test_a_single_node_keeps_replication_one() -> None:
    properties = _properties(broker_properties(1, [9001], [9011], Path("/data")))
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["transaction.state.log.min.isr"] == "1"


def test_cluster_nodes_share_one_kraft_cluster_id(tmp_path: Path) -> None:
    settings = StackSettings(run_dir=tmp_path, cluster=True, cluster_base_port=30000)
    nodes = [KafkaService(settings, node_id=n) for n in (1, 2, 3)]
    assert [node.name for node in nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [node.address() for node in nodes] == ["127.0.0.1:30004", "127.0.0.1:30005", "127.0.0.1:30006"]
    assert len({node._cluster_id() for node in nodes}) == 1
    assert nodes[2].ports() == {"cluster_base_port:kafka-3": 30006, "cluster_base_port:kafka-3-controller": 30009}
