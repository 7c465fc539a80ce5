"""The ingest topology (specs only): spout -> fetch/decode -> embed -> index; bad records -> dead letters."""

from streamparse import Grouping, Topology

from topologies.ingest.dead_letter_bolt import DeadLetterBolt
from topologies.ingest.embed_bolt import EmbedBolt
from topologies.ingest.fetch_bolt import FetchBolt
from topologies.ingest.index_bolt import IndexBolt
from topologies.ingest.kafka_spout import KafkaSpout
from topologies.ingest.reporting import DEAD_LETTER_STREAM

# Every stage groups by product id, so one product's messages keep their order through the topology.
BY_PRODUCT = Grouping.fields("product_id")


class IngestTopology(Topology):
    """Parallelism 1 per component suits a 2-core machine; raise fetch/embed first on a bigger one."""

    kafka_spout = KafkaSpout.spec(par=1)
    fetch_bolt = FetchBolt.spec(inputs={kafka_spout: BY_PRODUCT}, par=1)
    embed_bolt = EmbedBolt.spec(inputs={fetch_bolt["default"]: BY_PRODUCT}, par=1)
    index_bolt = IndexBolt.spec(inputs={embed_bolt: BY_PRODUCT}, par=1)
    dead_letter_bolt = DeadLetterBolt.spec(
        inputs=[fetch_bolt[DEAD_LETTER_STREAM], index_bolt[DEAD_LETTER_STREAM]], par=1
    )
