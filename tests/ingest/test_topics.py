import socket

from ingest.topics import kafka_problem
from tests.integration_fixtures import free_ports


def test_kafka_is_reachable_when_one_bootstrap_server_accepts() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        dead = free_ports(1)[0]
        assert kafka_problem(f"127.0.0.1:{dead},127.0.0.1:{listening.getsockname()[1]}") == ""


def test_every_unreachable_bootstrap_server_is_named() -> None:
    dead = free_ports(1)[0]
    problem = kafka_problem(f"127.0.0.1:{dead},no-port")
    assert f"127.0.0.1:{dead}" in problem and "no-port" in problem
