"""A spout that emits a fixed list of words once each, then idles."""

from typing import Any

from streamparse import Spout

WORDS = ("shirt", "dress", "sneaker", "coat", "bag")


class WordSpout(Spout):
    """Emits each word of the topology config `smoke.words` (default WORDS) once, with itself as tuple id."""

    outputs = ["word"]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.pending = list(storm_conf.get("smoke.words", WORDS))

    def next_tuple(self) -> None:
        if self.pending:
            word = self.pending.pop(0)
            self.emit([word], tup_id=word)
