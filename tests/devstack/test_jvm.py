import zipfile

import pytest

from devstack.jvm import JVM_SERVICES, jvm_deps_resolved, maven_properties, read_versions, topology_jar
from devstack.launcher import Stack
from devstack.settings import REPO_ROOT, StackSettings


def test_versions_live_in_one_file_and_become_maven_properties() -> None:
    versions = read_versions(REPO_ROOT / "deploy")
    assert versions["SOLR_VERSION"].startswith("9.10.")
    assert versions["STORM_VERSION"].startswith("2.8.")
    flags = maven_properties(versions)
    assert f"-Dkafka.version={versions['KAFKA_VERSION']}" in flags
    assert all(flag.startswith("-D") and ".version=" in flag for flag in flags)


@pytest.mark.integration
def test_the_stack_leaves_every_service_classpath_in_the_cache(stack: Stack) -> None:
    assert jvm_deps_resolved(stack.settings)
    for service in JVM_SERVICES:
        assert any((stack.settings.cache_dir / service / "lib").glob("*.jar"))
    assert topology_jar(stack.settings).is_file()


@pytest.mark.integration
def test_the_topology_jar_holds_flux_and_a_resources_folder(jvm_deps: StackSettings) -> None:
    names = zipfile.ZipFile(topology_jar(jvm_deps)).namelist()
    assert "org/apache/storm/flux/Flux.class" in names
    assert "org/apache/storm/flux/wrappers/bolts/FluxShellBolt.class" in names
    assert "org/apache/storm/flux/wrappers/spouts/FluxShellSpout.class" in names
    assert "resources/README.md" in names  # supervisors extract it as the shell components' working directory
    assert not [name for name in names if name.startswith(("org/slf4j/", "org/apache/storm/daemon/"))]
