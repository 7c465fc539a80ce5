"""Where the command line finds the stores: options, then the environment, then the running local stack."""

from pathlib import Path

from pydantic_settings import BaseSettings

from cbir.stack.settings import StackSettings, stack_settings_of
from indexer.settings import IndexerSettings, get_indexer_settings


def unless_set(settings: BaseSettings, stack: StackSettings, addresses: dict[str, str]) -> dict[str, str]:
    """The stack's addresses for the fields the environment does not set; none if no `cbir stack up` recorded
    its ports in the stack's run folder."""
    if not stack.ports_file.is_file():
        return {}
    return {name: value for name, value in addresses.items() if name not in settings.model_fields_set}


def indexer_settings(
    milvus_uri: str | None = None, solr_core_url: str | None = None, run_dir: Path | None = None
) -> IndexerSettings:
    """The indexer settings, with each store's address taken from the first of: the option given, its
    `CBIR_INDEXER_*` variable, the ports `cbir stack up` recorded in the run folder, the default."""
    settings = get_indexer_settings()
    stack = stack_settings_of(run_dir)
    updates = unless_set(settings, stack, {"milvus_uri": stack.milvus_uri(), "solr_core_url": stack.solr_core_url()})
    options = {"milvus_uri": milvus_uri, "solr_core_url": solr_core_url}
    updates.update({name: value for name, value in options.items() if value is not None})
    return settings.model_copy(update=updates)
