"""A Storm cluster on one machine: ZooKeeper, Nimbus and Supervisors as separate JVMs from the cached jars.

Supervisors start the workers themselves (Storm's BasicContainer): `java` from JAVA_HOME or the PATH, the
classpath `<storm.home>/lib-worker/*`, `<storm.home>/extlib/*`, `<storm.home>/conf` and the topology jar, logging
from `<storm.home>/log4j2/worker.xml`, and the daemon's own `-Dstorm.conf.file`. So the launcher lays out a
storm home in the run folder (symlinks to deploy/cache/storm/lib) and one storm.yaml per daemon.
"""

import logging
import socket
from pathlib import Path
from typing import Any

import yaml

from devstack.jvm import classpath
from devstack.process import port_accepts
from devstack.service import Service
from devstack.settings import LOOPBACK, StackSettings
from topologies.storm.nimbus import NimbusUnavailable, cluster_summary

logger = logging.getLogger(__name__)

ZOOKEEPER_MAIN = "org.apache.storm.shade.org.apache.zookeeper.server.ZooKeeperServerMain"  # in storm-shaded-deps
NIMBUS_MAIN = "org.apache.storm.daemon.nimbus.Nimbus"
SUPERVISOR_MAIN = "org.apache.storm.daemon.supervisor.Supervisor"
# Workers need storm-client and its dependencies; the topology jar brings Flux, so the daemons' copy stays out.
_NOT_FOR_WORKERS = ("storm-server-", "flux-core-")

WORKER_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Worker logging (written by the launcher): one file per worker, as Storm's own worker.xml names it. -->
<Configuration status="WARN">
  <Properties>
    <Property name="logfile">${sys:workers.artifacts}/${sys:storm.id}/${sys:worker.port}/${sys:logfile.name}</Property>
  </Properties>
  <Appenders>
    <File name="worker" fileName="${logfile}" append="true">
      <PatternLayout pattern="%d{ISO8601} %-5p [%t] %c{1.} %m%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.storm.shade" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="worker"/></Root>
  </Loggers>
</Configuration>
"""


def storm_home(settings: StackSettings) -> Path:
    """The generated storm home of this run: lib-worker, extlib, conf and log4j2/worker.xml."""
    return settings.service_dir("storm-cluster") / "home"


def storm_log_dir(settings: StackSettings) -> Path:
    """Where the daemons put `workers-artifacts/<topology>/<port>/worker.log`."""
    return settings.run_dir.resolve() / "logs" / "storm"


def prepare_storm_home(settings: StackSettings) -> Path:
    """Lay out the storm home (idempotent): symlinks to the cached jars, an empty extlib and conf, worker logging."""
    home = storm_home(settings)
    lib_worker = home / "lib-worker"
    for folder in (lib_worker, home / "extlib", home / "conf", home / "log4j2"):
        folder.mkdir(parents=True, exist_ok=True)
    for link in lib_worker.iterdir():  # the cache may hold other versions than when the home was made
        link.unlink()
    for jar in sorted((settings.cache_dir / "storm" / "lib").glob("*.jar")):
        if not jar.name.startswith(_NOT_FOR_WORKERS):
            (lib_worker / jar.name).symlink_to(jar.resolve())
    (home / "log4j2" / "worker.xml").write_text(WORKER_LOG4J2)
    return home


def storm_config(settings: StackSettings, local_dir: Path, supervisor: int | None = None) -> dict[str, Any]:
    """storm.yaml of one daemon: loopback addresses, this run's ports, and for a supervisor its slots."""
    ports = settings.cluster_ports
    config: dict[str, Any] = {
        "storm.zookeeper.servers": [LOOPBACK],
        "storm.zookeeper.port": ports.zookeeper,
        "storm.local.hostname": LOOPBACK,
        "nimbus.seeds": [LOOPBACK],
        "nimbus.thrift.port": ports.nimbus,
        "storm.local.dir": str(local_dir),
        "storm.log.dir": str(storm_log_dir(settings)),
        "storm.health.check.dir": str(local_dir / "healthchecks"),
        # Workers: small heaps and C1 only, like the other JVMs of the stack; Python components do the work.
        "worker.heap.memory.mb": settings.worker_heap_mb,
        "worker.childopts": "-Xmx%HEAP-MEM%m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        "topology.worker.max.heap.size.mb": float(settings.worker_heap_mb),
    }
    if supervisor is not None:
        config["supervisor.slots.ports"] = ports.slots[supervisor]
        config["supervisor.thrift.port"] = ports.supervisors[supervisor]
    return config


class StormDaemon(Service):
    """A Storm daemon JVM with its own storm.yaml and local dir, from the cached Storm classpath."""

    main: str
    heap: str = "-Xmx256m"

    @property
    def conf_file(self) -> Path:
        """This daemon's storm.yaml."""
        return self.dir / "storm.yaml"

    def config(self) -> dict[str, Any]:
        """This daemon's storm.yaml contents."""
        return storm_config(self.settings, self.dir / "local")

    def prepare(self) -> None:
        (self.dir / "local").mkdir(parents=True, exist_ok=True)
        prepare_storm_home(self.settings)
        self.conf_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))

    def argv(self) -> list[str]:
        s = self.settings
        return [
            s.java, *s.jvm_opts, self.heap, f"-Dstorm.home={storm_home(s)}", f"-Dstorm.conf.file={self.conf_file}",
            f"-Dstorm.log.dir={storm_log_dir(s)}", f"-Dlogfile.name={self.name}.log",
            f"-Dlog4j.configurationFile={s.deploy_dir / 'logging' / 'log4j2.xml'}",
            "-cp", classpath(s, "storm"), self.main,
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        """JAVA_HOME when java is given by path: supervisors start workers with `$JAVA_HOME/bin/java`."""
        java = Path(self.settings.java)
        return {"JAVA_HOME": str(java.resolve().parents[1])} if java.parent != Path() else {}


class ZooKeeperService(Service):
    """A standalone ZooKeeper for Storm's coordination (the server shaded into storm-shaded-deps)."""

    name = "zookeeper"

    def ports(self) -> dict[str, int]:
        return {"cluster_base_port:zookeeper": self.settings.cluster_ports.zookeeper}

    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.cluster_ports.zookeeper}"

    def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        (self.dir / "zoo.cfg").write_text(
            "\n".join(
                [
                    "tickTime=2000",
                    f"dataDir={self.dir / 'data'}",
                    f"clientPort={self.settings.cluster_ports.zookeeper}",
                    f"clientPortAddress={LOOPBACK}",
                    "admin.enableServer=false",
                    "4lw.commands.whitelist=ruok",
                    "maxClientCnxns=0",
                    "",
                ]
            )
        )

    def argv(self) -> list[str]:
        s = self.settings
        return [
            s.java, *s.jvm_opts, "-Xmx256m", f"-Dlog4j.configurationFile={s.deploy_dir / 'logging' / 'log4j2.xml'}",
            "-cp", classpath(s, "storm"), ZOOKEEPER_MAIN, str(self.dir / "zoo.cfg"),
        ]  # fmt: skip

    def healthy(self) -> bool:
        """ZooKeeper answers `ruok` with `imok`."""
        try:
            with socket.create_connection((LOOPBACK, self.settings.cluster_ports.zookeeper), timeout=2) as sock:
                sock.sendall(b"ruok")
                return sock.recv(16) == b"imok"
        except OSError:
            return False


class NimbusService(StormDaemon):
    """Nimbus: takes topologies over Thrift, schedules them on the supervisors' slots."""

    name = "nimbus"
    main = NIMBUS_MAIN
    heap = "-Xmx384m"

    def ports(self) -> dict[str, int]:
        return {"cluster_base_port:nimbus": self.settings.cluster_ports.nimbus}

    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.cluster_ports.nimbus}"

    def healthy(self) -> bool:
        """Nimbus answers getClusterInfo over Thrift."""
        try:
            cluster_summary(LOOPBACK, self.settings.cluster_ports.nimbus)
            return True
        except NimbusUnavailable:
            return False


class SupervisorService(StormDaemon):
    """Supervisor `index`: its own local dir, Thrift port and worker slots; it starts and restarts workers."""

    main = SUPERVISOR_MAIN

    def __init__(self, settings: StackSettings, index: int) -> None:
        self.index = index
        self.name = f"supervisor-{index + 1}"
        super().__init__(settings)

    def config(self) -> dict[str, Any]:
        return storm_config(self.settings, self.dir / "local", supervisor=self.index)

    def ports(self) -> dict[str, int]:
        ports = self.settings.cluster_ports
        slots = {f"cluster_base_port:{self.name}-slot-{port}": port for port in ports.slots[self.index]}
        return {f"cluster_base_port:{self.name}": ports.supervisors[self.index], **slots}

    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.cluster_ports.supervisors[self.index]}"

    def healthy(self) -> bool:
        """Its Thrift port answers, and Nimbus counts as many supervisors as there are answering ports."""
        ports = self.settings.cluster_ports
        if not port_accepts(LOOPBACK, ports.supervisors[self.index]):
            return False
        answering = sum(port_accepts(LOOPBACK, port) for port in ports.supervisors)
        try:
            return len(cluster_summary(LOOPBACK, ports.nimbus).supervisors) >= answering
        except NimbusUnavailable:
            return False
