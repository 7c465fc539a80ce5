"""The smoke topology: WordSpout -> RecordBolt (specs only)."""

from streamparse import Grouping, Topology

from tests.topologies.smoke.record_bolt import RecordBolt
from tests.topologies.smoke.word_spout import WordSpout


class SmokeTopology(Topology):
    """One Python spout, one Python bolt, shuffle grouping."""

    word_spout = WordSpout.spec(par=1)
    record_bolt = RecordBolt.spec(inputs={word_spout: Grouping.SHUFFLE}, par=1)
