"""The stack's JVM artifacts: versions in `deploy/versions.env`, resolved by Maven into `deploy/cache/`."""

import hashlib
import logging
import shutil
import subprocess
from pathlib import Path

from devstack.errors import JvmDepsUnavailable
from devstack.settings import StackSettings

logger = logging.getLogger(__name__)

JVM_SERVICES = ("kafka", "solr", "storm")
TOPOLOGY_JAR = "cbir-ingest-topology.jar"  # built by deploy/jvm/topology: what `cbir topology submit` uploads
_STAMP = ".resolved"


def read_versions(deploy_dir: Path) -> dict[str, str]:
    """The `NAME=value` pairs of `deploy/versions.env` (comments and blank lines skipped)."""
    versions = {}
    for line in (deploy_dir / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            versions[name.strip()] = value.strip()
    return versions


def maven_properties(versions: dict[str, str]) -> list[str]:
    """`-Dkafka.version=...` flags for the pom, from `KAFKA_VERSION=...` entries."""
    return [
        f"-D{name.removesuffix('_VERSION').lower()}.version={value}"
        for name, value in sorted(versions.items())
        if name.endswith("_VERSION")
    ]


def _stamp_text(deploy_dir: Path) -> str:
    """What the cache was resolved from: the versions, every pom and every module's sources, hashed."""
    digest = hashlib.sha256((deploy_dir / "versions.env").read_bytes())
    for pom in sorted((deploy_dir / "jvm").rglob("pom.xml")):
        digest.update(pom.read_bytes())
    for source in sorted((deploy_dir / "jvm").glob("*/src/**/*")):  # Java sources and jar resources
        if source.is_file():
            digest.update(source.read_bytes())
    return digest.hexdigest()


def jvm_deps_resolved(settings: StackSettings) -> bool:
    """Whether the cache holds every service's classpath for the current versions and poms."""
    stamp = settings.cache_dir / _STAMP
    if not stamp.is_file() or stamp.read_text().strip() != _stamp_text(settings.deploy_dir):
        return False
    services_cached = all(any((settings.cache_dir / s / "lib").glob("*.jar")) for s in JVM_SERVICES)
    return services_cached and topology_jar(settings).is_file()


def resolve_jvm_deps(settings: StackSettings, force: bool = False) -> bool:
    """Resolve the jars into the cache unless they are there already; returns whether Maven ran."""
    if not force and jvm_deps_resolved(settings):
        logger.info("JVM artifacts already in %s", settings.cache_dir)
        return False
    for folder in [*JVM_SERVICES, "topology"]:  # jars of older versions must not stay on a classpath
        shutil.rmtree(settings.cache_dir / folder, ignore_errors=True)
    command = [settings.mvn, "-B", "-q", *maven_properties(read_versions(settings.deploy_dir)), "package"]
    logger.info("Resolving JVM artifacts: %s", " ".join(command))
    try:
        result = subprocess.run(command, cwd=settings.deploy_dir / "jvm", capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise JvmDepsUnavailable(f"Maven ({settings.mvn}) is not installed: {error}") from error
    if result.returncode != 0:
        raise JvmDepsUnavailable(f"mvn failed (exit {result.returncode}):\n{result.stdout[-4000:]}")
    (settings.cache_dir / _STAMP).write_text(_stamp_text(settings.deploy_dir) + "\n")
    return True


def classpath(settings: StackSettings, service: str) -> str:
    """The Java classpath of one service, from its cache folder."""
    lib = settings.cache_dir / service / "lib"
    if not any(lib.glob("*.jar")):
        raise JvmDepsUnavailable(f"No jars in {lib}: run `cbir stack deps` (or `make jvm-deps`) first")
    return f"{lib}/*"


def topology_jar(settings: StackSettings) -> Path:
    """The topology jar (flux-core and a `resources/` folder) that `cbir topology submit` uploads to Nimbus."""
    return settings.cache_dir / "topology" / TOPOLOGY_JAR


def log4j2_option(settings: StackSettings) -> str:
    """The JVM flag that points log4j2 at the stack's console logging config."""
    return f"-Dlog4j2.configurationFile={settings.deploy_dir / 'logging' / 'log4j2.xml'}"
