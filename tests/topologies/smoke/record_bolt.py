"""A bolt that appends what it receives to a file, so a test can see tuples arrive through Storm."""

from pathlib import Path
from typing import Any

from streamparse import Bolt, Tuple


def record_line(word: str, task: int) -> str:
    """The line the bolt writes for one word: the word upper-cased and the task that processed it."""
    return f"{word.upper()}\t{task}\n"


class RecordBolt(Bolt):
    """Appends record_line(word) to the file named by the topology config `smoke.output_path`."""

    outputs: list[str] = []

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.output = Path(storm_conf["smoke.output_path"])
        self.task = int(context.get("taskid", 0))

    def process(self, tup: Tuple) -> None:
        with self.output.open("a") as output:
            output.write(record_line(tup.values[0], self.task))
