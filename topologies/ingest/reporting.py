"""What every ingest component shares: its settings from the topology config and its counters."""

from typing import Any

from indexer.settings import IndexerSettings
from ingest.counters import StageCounters
from ingest.settings import IngestSettings, settings_from_storm_conf

DEAD_LETTER_STREAM = "dead_letter"


def component_setup(
    storm_conf: dict[str, Any], context: dict[str, Any]
) -> tuple[IngestSettings, IndexerSettings, StageCounters]:
    """The component's settings and a fresh set of counters named after it."""
    ingest, indexer = settings_from_storm_conf(storm_conf)
    counters = StageCounters(str(context.get("componentid", "component")), int(context.get("taskid", 0)),
                             ingest.metrics_interval_s)  # fmt: skip
    return ingest, indexer, counters


def report(counters: StageCounters, settings: IngestSettings, logger: Any, force: bool = False) -> None:
    """Log the counters and write them to the metrics folder, when due."""
    if not (force or counters.due()):
        return
    logger.info("counters %s", counters.snapshot())
    if settings.metrics_dir is not None:
        counters.write(settings.metrics_dir)
