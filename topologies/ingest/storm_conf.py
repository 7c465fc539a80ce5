"""The settings a topology's components start with, carried in the Storm config (resolved once, at submission)."""

import json
from typing import Any

from settings import REVEAL_SECRETS, ApiSettings, Settings
from topologies.storm.multilang import serializer_config

SETTINGS_CONF_KEY = "cbir.settings"
TOPOLOGY_GROUPS = {"stores", "fetch", "embedding", "indexer", "ingest"}  # the API's group stays out (its keys)


def storm_config(settings: Settings) -> dict[str, Any]:
    """The topology config: the settings as JSON for the components, and Storm's own knobs.

    The store credentials are written in clear: the workers read nothing else (the Storm config is readable by
    whoever reaches Nimbus, which docker-compose keeps on its internal network)."""
    ingest = settings.ingest
    return {
        SETTINGS_CONF_KEY: settings.model_dump_json(include=TOPOLOGY_GROUPS, context=REVEAL_SECRETS),
        "topology.max.spout.pending": ingest.max_spout_pending,
        "topology.message.timeout.secs": ingest.message_timeout_s,
        "topology.tick.tuple.freq.secs": ingest.tick_interval_s,
        **serializer_config(ingest.multilang_serializer),
    }


def settings_from_storm_conf(storm_conf: dict[str, Any]) -> Settings:
    """The settings a component was started with (see storm_config); nothing is read from the worker's environment."""
    groups = json.loads(storm_conf[SETTINGS_CONF_KEY])
    return Settings.model_validate({**groups, "api": ApiSettings.model_construct()})
