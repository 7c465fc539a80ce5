"""Command-line options shared by the `cbir` commands; each one overrides its `CBIR_*` variable (see settings)."""

from pathlib import Path
from typing import Annotated

import typer

RunDir = Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")]
Model = Annotated[
    Path | None,
    typer.Option(help="Checkpoint; its version names the Milvus collection [env CBIR_EMBEDDING_MODEL_PATH; "
                 "default models/catalog.pt]"),
]  # fmt: skip
MilvusUri = Annotated[str | None, typer.Option(help="[env CBIR_STORES_MILVUS_URI; default: the stack's]")]
SolrUrl = Annotated[
    str | None, typer.Option(help="Solr core URL [env CBIR_STORES_SOLR_CORE_URL; default: the stack's]")
]
