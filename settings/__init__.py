"""The platform's one settings model: groups by concern (stores, fetch, embedding, indexer, ingest, api), each
read from its own `CBIR_<GROUP>_*` environment variables, and one function that resolves them (`resolve_settings`).

Every deployable reuses it: the API (`create_app`), the topology's components (through the Storm config) and the
`cbir` commands. The model's own facts (its embedding dimension and version) are not settings: they are read from
the checkpoint (`embedder.checkpoint_facts.read_config`).
"""

from settings.groups import (
    REVEAL_SECRETS,
    ApiSettings,
    EmbeddingSettings,
    FetchSettings,
    IndexerSettings,
    IngestSettings,
    Settings,
    StoreSettings,
)
from settings.resolve import resolve_settings

__all__ = [
    "ApiSettings",
    "EmbeddingSettings",
    "FetchSettings",
    "IndexerSettings",
    "IngestSettings",
    "REVEAL_SECRETS",
    "Settings",
    "StoreSettings",
    "resolve_settings",
]
