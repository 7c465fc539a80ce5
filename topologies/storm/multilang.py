"""The serializers of Storm's multilang protocol: the class the worker JVM loads, and pystorm's name for its half.

`json` is Storm's default. `msgpack` is ours (deploy/jvm/topology, in the topology jar): the worker copies tuple
strings and bytes as they are instead of parsing and re-writing every emit as JSON text.
"""

from typing import Any

SERIALIZER_CONF_KEY = "topology.multilang.serializer"
JAVA_SERIALIZERS = {
    "json": "org.apache.storm.multilang.JsonSerializer",
    "msgpack": "org.cbirfashion.storm.MsgpackSerializer",
}


def serializer_config(name: str) -> dict[str, str]:
    """The topology config entry that makes the worker speak `name` to the shell components."""
    return {SERIALIZER_CONF_KEY: JAVA_SERIALIZERS[name]}


def python_serializer(config: dict[str, Any]) -> str:
    """pystorm's name for the serializer a topology config names (Storm's default, json, if it names none)."""
    java_class = config.get(SERIALIZER_CONF_KEY, JAVA_SERIALIZERS["json"])
    names = [name for name, known in JAVA_SERIALIZERS.items() if known == java_class]
    if not names:
        raise ValueError(f"{SERIALIZER_CONF_KEY} names {java_class}, which has no Python half here")
    return names[0]
