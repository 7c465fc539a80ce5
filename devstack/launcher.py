"""Start, stop and inspect the local stack (Kafka, Solr, Milvus on 127.0.0.1); PIDs kept in the run folder."""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from devstack.errors import StackError
from devstack.jvm import resolve_jvm_deps
from devstack.kafka import KafkaService
from devstack.milvus import MilvusService
from devstack.process import PidFile, ProcessRecord, require_free_ports, spawn, stop_session, wait_until
from devstack.service import Service
from devstack.settings import KAFKA_BROKERS, LOOPBACK, SUPERVISORS, StackSettings
from devstack.solr import SolrService
from devstack.storm_cluster import NimbusService, SupervisorService, ZooKeeperService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    """What `cbir stack status` reports for one service."""

    name: str
    address: str
    pid: int | None
    running: bool
    healthy: bool

    def as_dict(self) -> dict[str, object]:
        """The status as plain JSON-ready data."""
        return asdict(self)


def stack_services(settings: StackSettings) -> list[Service]:
    """The local stack's services; with `cluster`, ZooKeeper, Nimbus, two Supervisors and three Kafka nodes."""
    if not settings.cluster:
        return [KafkaService(settings), SolrService(settings), MilvusService(settings)]
    return [
        ZooKeeperService(settings),
        *[KafkaService(settings, node_id=n) for n in range(1, KAFKA_BROKERS + 1)],
        NimbusService(settings),
        *[SupervisorService(settings, index=n) for n in range(SUPERVISORS)],
        SolrService(settings),
        MilvusService(settings),
    ]


class Stack:
    """The services of the local stack, started and stopped together."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.services = stack_services(settings)

    def up(self) -> dict[str, str]:
        """Start every service that is not running and wait until all are healthy; returns what was done."""
        self._refuse_other_kind()
        resolve_jvm_deps(self.settings)
        self.settings.save_ports()
        outcome: dict[str, str] = {}
        started: list[tuple[Service, ProcessRecord]] = []
        try:
            for service in self.services:
                record = self._start(service)
                outcome[service.name] = "already running" if record is None else "started"
                if record is not None:
                    started.append((service, record))
            for service, record in started:
                self._wait_healthy(service, record)
        except StackError:
            for service, record in started:  # leave nothing half-started behind
                stop_session(record, self.settings.stop_timeout_s)
                PidFile(self.settings.run_dir, service.name).remove()
            raise
        return outcome

    def _refuse_other_kind(self) -> None:
        """A run folder holds one stack: the local one or the cluster, not both (`down` would miss services)."""
        running = self.settings.with_saved_ports()
        if running.cluster == self.settings.cluster:
            return
        records = [PidFile(running.run_dir, service.name).read() for service in stack_services(running)]
        if any(record is not None and record.is_alive() for record in records):
            kind = "a cluster" if running.cluster else "a local"
            raise StackError(
                f"{self.settings.run_dir} runs {kind} stack: `cbir stack down` it first, or use another run folder"
            )

    def _start(self, service: Service) -> ProcessRecord | None:
        """Spawn one service unless the process recorded for it is still alive (then return None)."""
        pid_file = PidFile(self.settings.run_dir, service.name)
        record = pid_file.read()
        if record is not None and record.is_alive():
            logger.info("%s already running (PID %d)", service.name, record.pid)
            self._wait_healthy(service, record)
            return None
        pid_file.remove()
        require_free_ports(service.name, LOOPBACK, service.ports())
        service.prepare()
        record = spawn(service.argv(), service.log_path, cwd=service.dir, env=service.env())
        pid_file.write(record)
        logger.info("%s starting (PID %d), log %s", service.name, record.pid, service.log_path)
        return record

    def _wait_healthy(self, service: Service, record: ProcessRecord) -> None:
        """Wait until the service answers, failing early if it exits or reports that it cannot start."""
        wait_until(
            service.healthy, record, self.settings.start_timeout_s, service.name, service.log_path,
            failed=service.startup_error,
        )  # fmt: skip

    def down(self) -> dict[str, str]:
        """Stop exactly the processes this stack recorded, all at once (a Kafka node stopped after the others
        would wait for a quorum that is gone); returns what was done per service."""
        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            outcomes = list(pool.map(self._stop, reversed(self.services)))
        return dict(zip([s.name for s in reversed(self.services)], outcomes, strict=True))

    def _stop(self, service: Service) -> str:
        """Stop one service's recorded process and whatever it started; returns what was done."""
        pid_file = PidFile(self.settings.run_dir, service.name)
        record = pid_file.read()
        if record is None:
            return "not started"
        outcome = "stopped" if record.is_alive() else "was not running"
        stop_session(record, self.settings.stop_timeout_s)
        pid_file.remove()
        return outcome

    def status(self) -> list[ServiceStatus]:
        """Address, PID and health of each service."""
        statuses = []
        for service in self.services:
            record = PidFile(self.settings.run_dir, service.name).read()
            running = record is not None and record.is_alive()
            statuses.append(
                ServiceStatus(
                    name=service.name,
                    address=service.address(),
                    pid=record.pid if record is not None else None,
                    running=running,
                    healthy=service.healthy(),
                )
            )
        return statuses
