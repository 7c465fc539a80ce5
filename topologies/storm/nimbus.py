"""Nimbus's Thrift API (framed binary protocol) through streamparse's bundled storm.thrift: cluster state, kill."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from streamparse.thrift import storm_thrift
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory, TTransportException

from devstack.errors import StackError

logger = logging.getLogger(__name__)


class NimbusUnavailable(StackError):
    """Nimbus did not answer over Thrift."""


class TopologyNotFound(StackError):
    """Nimbus runs no topology of that name."""


@dataclass(frozen=True)
class TopologyState:
    """One running topology as Nimbus reports it."""

    name: str
    id: str
    status: str
    workers: int
    executors: int
    uptime_s: int


@dataclass(frozen=True)
class ClusterState:
    """What Nimbus knows: its supervisors (host, slots, used slots) and topologies."""

    supervisors: list[tuple[str, int, int]]
    topologies: list[TopologyState]


def parse_nimbus(address: str) -> tuple[str, int]:
    """`HOST:PORT` (the port defaults to 6627) as (host, port)."""
    host, _, port = address.rpartition(":")
    if not host:
        return address, 6627
    return host, int(port)


@contextmanager
def nimbus(host: str, port: int, timeout_ms: int = 5000) -> Iterator[Any]:
    """A Thrift client of Nimbus, closed on exit; NimbusUnavailable when it cannot connect."""
    try:
        client = make_client(
            storm_thrift.Nimbus, host=host, port=port, timeout=timeout_ms,
            proto_factory=TBinaryProtocolFactory(), trans_factory=TFramedTransportFactory(),
        )  # fmt: skip
    except (TTransportException, OSError) as error:
        raise NimbusUnavailable(f"Nimbus at {host}:{port} does not answer: {error}") from error
    try:
        yield client
    except (TTransportException, OSError) as error:
        raise NimbusUnavailable(f"Nimbus at {host}:{port} failed: {error}") from error
    finally:
        client.close()


def cluster_summary(host: str, port: int) -> ClusterState:
    """Nimbus's getClusterInfo, reduced to what the launcher and the CLI show."""
    with nimbus(host, port) as client:
        info = client.getClusterInfo()
    supervisors = [(s.host, s.num_workers, s.num_used_workers) for s in info.supervisors]
    topologies = [
        TopologyState(t.name, t.id, t.status, t.num_workers, t.num_executors, t.uptime_secs) for t in info.topologies
    ]
    return ClusterState(supervisors=supervisors, topologies=topologies)


def kill_topology(host: str, port: int, name: str, wait_s: int = 5) -> None:
    """Kill a topology by name (its workers stop after wait_s); TopologyNotFound if none runs by that name."""
    with nimbus(host, port) as client:
        try:
            client.killTopologyWithOpts(name, storm_thrift.KillOptions(wait_secs=wait_s))
        except storm_thrift.NotAliveException as error:
            raise TopologyNotFound(f"no topology named {name} on Nimbus {host}:{port}") from error
    logger.info("Killed topology %s (workers stop in %d s)", name, wait_s)
