"""What the app opens once at start-up and shares between requests, and closes at shutdown (the lifespan's
wiring): the model, the query path (api/query_path.py), the store clients (api/store_clients.py), product
publishing and statuses (api/product_publishing.py) and the photo folder (api/photo_folder.py).

Concurrency model: one event loop (uvicorn) accepts and parses requests; the query path's bounded pools run
decoding, embedding and fetches; blocking store calls run in the loop's default thread pool.
"""

import logging

from api.metrics import ApiMetrics
from api.photo_folder import PhotoFolder
from api.product_publishing import ProductPublishing
from api.query_path import QueryPath
from api.store_clients import StoreClients
from embedder import CheckpointError, Embedder
from embedder.text_encoder import TextEmbedder
from indexer.errors import IndexerError
from settings import Settings

logger = logging.getLogger(__name__)


class Runtime:
    """The embedder (and text encoder) with the parts of the app that share it."""

    def __init__(
        self, settings: Settings, embedder: Embedder, metrics: ApiMetrics, text_encoder: TextEmbedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.text_encoder = text_encoder
        self.metrics = metrics
        self.model_version = settings.api.collection_version or embedder.version
        self.stores = StoreClients(settings, self.model_version, embedder.dim, metrics)
        self.queries = QueryPath(settings, embedder, self.stores, metrics)
        self.products = ProductPublishing(settings.stores, self.stores, metrics)
        self.photos = PhotoFolder(settings.api.photo_dir)

    @classmethod
    def open(cls, settings: Settings, metrics: ApiMetrics) -> "Runtime":
        """Load the model (once) and try the stores; a store that is down now is connected on first use."""
        embedding = settings.embedding
        embedder = Embedder.load(embedding.model_path, batch_size=settings.api.embed_max_batch,
                                 threads=embedding.torch_threads, device=embedding.device)  # fmt: skip
        text_encoder = TextEmbedder.load(embedding.text_encoder_path) if embedding.text_encoder_path else None
        if text_encoder is not None and text_encoder.image_model != embedder.version:
            raise CheckpointError(
                f"the text encoder maps into image model {text_encoder.image_model}, not {embedder.version}"
            )
        runtime = cls(settings, embedder, metrics, text_encoder)
        runtime.queries.warm_up()
        for connect in (runtime.stores.vectors, runtime.stores.metadata):
            try:
                connect()
            except IndexerError as error:  # start anyway: /readyz and 503s report it, first use reconnects
                logger.warning("store not reachable at start-up: %s", error)
        runtime.queries.canary.start()
        runtime.products.start()
        runtime.photos.index_in_background()
        return runtime

    def close(self) -> None:
        self.queries.close()
        self.products.close()
