"""Where the command line finds the two stores: options, then `CBIR_INDEXER_*`, then the running local stack."""

from pathlib import Path

from cbir.stack.settings import StackSettings
from indexer.settings import IndexerSettings, get_indexer_settings


def indexer_settings(
    milvus_uri: str | None = None, solr_core_url: str | None = None, run_dir: Path | None = None
) -> IndexerSettings:
    """The indexer settings, with each store's address taken from the first of: the option given, its
    `CBIR_INDEXER_*` variable, the ports `cbir stack up` recorded in the run folder, the default."""
    settings = get_indexer_settings()
    stack = (StackSettings() if run_dir is None else StackSettings(run_dir=run_dir)).with_saved_ports()
    recorded = stack.ports_file.is_file()
    addresses = {
        "milvus_uri": milvus_uri or _unless_set(settings, "milvus_uri", stack.milvus_uri(), recorded),
        "solr_core_url": solr_core_url or _unless_set(settings, "solr_core_url", stack.solr_core_url(), recorded),
    }
    return settings.model_copy(update={name: value for name, value in addresses.items() if value is not None})


def _unless_set(settings: IndexerSettings, name: str, stack_value: str, recorded: bool) -> str | None:
    """The stack's address for a store, unless the environment sets one or no stack recorded its ports."""
    return stack_value if recorded and name not in settings.model_fields_set else None
