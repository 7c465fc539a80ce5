"""How the store commands (`reconcile`, `migrate-ids`, `mine`, `init-stores`) find the stores and the model's
collection: settings resolved once (options > environment > local stack > defaults), the model's facts read from
its checkpoint without loading it."""

from pathlib import Path

from embedder.checkpoint_facts import CheckpointFacts, read_config
from indexer.catalog_index import CatalogIndex
from settings import Settings, resolve_settings


def store_settings(
    model: Path | None, milvus_uri: str | None = None, solr_url: str | None = None, run_dir: Path | None = None
) -> tuple[Settings, CheckpointFacts]:
    """The settings with these options, and the facts of their model's checkpoint."""
    options = {"stores": {"milvus_uri": milvus_uri, "solr_core_url": solr_url}, "embedding": {"model_path": model}}
    settings = resolve_settings(options, run_dir)
    return settings, read_config(settings.embedding.model_path)


def open_catalog_index(settings: Settings, model: CheckpointFacts) -> CatalogIndex:
    """Both stores, connected, with the model version's collection (created if missing)."""
    return CatalogIndex.from_settings(settings.stores, settings.indexer, model.version, model.dim)
