"""What the app opens once at start-up and shares between requests, and closes at shutdown (the lifespan's
wiring): the model (and the follower that swaps it when a promotion switches models), the query path
(api/query_path.py), the store clients (api/store_clients.py), product publishing and statuses
(api/product_publishing.py) and the photo folder (api/photo_folder.py).

Concurrency model: one event loop (uvicorn) accepts and parses requests; the query path's bounded pools run
decoding, embedding and fetches; blocking store calls run in the loop's default thread pool.
"""

import logging
import threading

from api.metrics import ApiMetrics
from api.photo_folder import PhotoFolder
from api.product_publishing import ProductPublishing
from api.query_path import QueryPath
from api.store_clients import CollectionKey, StoreClients
from embedder import CheckpointError, Embedder, EmbedderError
from embedder.pair_scorer import PairScorer
from embedder.text_encoder import TextEmbedder
from indexer.errors import IndexerError
from indexer.model_registry import RegistryView, registry_view
from settings import Settings

logger = logging.getLogger(__name__)


class Runtime:
    """The embedder (and text encoder) with the parts of the app that share it.

    `embedder` and `stores.serving` change together when a promotion switches models (`follow_registry`): a
    request reads the embedder once and searches the collection of the model that embedded its query.
    """

    def __init__(
        self, settings: Settings, embedder: Embedder, metrics: ApiMetrics, text_encoder: TextEmbedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.text_encoder = text_encoder
        self.metrics = metrics
        self.stores = StoreClients(settings, self.collection_of(embedder), metrics)
        self.queries = QueryPath(settings, self.stores, metrics)
        self.products = ProductPublishing(settings.stores, self.stores, metrics)
        self.photos = PhotoFolder(settings.api.photo_dir)
        self.pair_scorer: PairScorer | None = None  # the `learned` re-ranker's, for one image model
        self.models: RegistryView | None = None
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    def collection_of(self, embedder: Embedder) -> CollectionKey:
        """The collection an embedder's queries search (api.collection_version overrides it: benchmarks)."""
        return CollectionKey(self.settings.api.collection_version or embedder.version, embedder.dim)

    @property
    def model_version(self) -> str:
        """The version of the collection searches use now."""
        return self.stores.serving.version

    def text_collection(self) -> CollectionKey | None:
        """The collection the text encoder's vectors belong in (its image model's), if that model is still served
        or kept current; None: words are Solr's ranking alone."""
        if self.text_encoder is None:
            return None
        model = self.text_encoder.image_model
        if model == self.embedder.version:
            return self.stores.serving
        record = self.models.by_version(model) if self.models is not None else None
        return CollectionKey(record.version, record.dim) if record is not None else None

    def pair_scorer_for(self, collection: CollectionKey) -> PairScorer | None:
        """The `learned` re-ranker's scorer, if it was trained for the model of that collection."""
        if self.pair_scorer is None:
            return None
        overridden = collection.version == self.settings.api.collection_version  # benchmarks: the embedder's
        model = self.embedder.version if overridden else collection.version
        return self.pair_scorer if self.pair_scorer.model_version == model else None

    def use(self, embedder: Embedder) -> None:
        """Serve another model from now on: its embedder and collection, swapped together."""
        QueryPath.warm_up(embedder)
        self.embedder, self.stores.serving = embedder, self.collection_of(embedder)
        self.metrics.model_switches.inc()
        logger.info("serving model %s now", embedder.version)

    def follow_registry(self) -> None:
        """Poll the model registry in a thread of its own; load and switch to the model it says serves."""
        self.models = registry_view(self.settings)
        self._follower = threading.Thread(target=self._follow, name="model-follower", daemon=True)
        self._follower.start()

    def _follow(self) -> None:
        assert self.models is not None
        while not self._stop.wait(self.models.poll_s):
            self.check_registry()

    def check_registry(self) -> None:
        """Switch to the registry's serving model if it is another one (a failure to load it is logged, and the
        current model keeps serving)."""
        assert self.models is not None
        record = self.models.serving()
        if record.version == self.embedder.version:
            return
        try:
            embedding = self.settings.embedding
            embedder = Embedder.load(record.checkpoint, batch_size=self.settings.api.embed_max_batch,
                                     threads=embedding.torch_threads, device=embedding.device)  # fmt: skip
        except (OSError, EmbedderError) as error:
            logger.error("model %s serves per the registry, but %s does not load: %s", record.version,
                         record.checkpoint, error)  # fmt: skip
            return
        if embedder.version != record.version:
            logger.error("%s is model %s, not %s as registered", record.checkpoint, embedder.version, record.version)
            return
        self.use(embedder)

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
        if embedding.pair_scorer_path is not None:
            runtime.pair_scorer = PairScorer.load(embedding.pair_scorer_path)
        QueryPath.warm_up(embedder)
        runtime.follow_registry()
        runtime.check_registry()  # a model promoted since the settings were written serves from the start
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
        self._stop.set()
        self.queries.close()
        self.products.close()
