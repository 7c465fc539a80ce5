"""Every record of the hostile corpus is judged at parsing as the topology test expects, and none raises anything
but RecordRejected (a crash there once cost each such record max_replays retries before a misleading dead letter).
"""

from pathlib import Path

import pytest

from embedder.data.image_folder import folder_photos
from ingest.errors import RecordRejected
from ingest.folder_catalog import demo_message
from ingest.message import UpsertMessage, parse_message
from tests.ingest.hostile_corpus import INDEXED, HostileRecord, hostile_corpus
from tests.ingest.kafka_helpers import CLOTHING_SMALL

ROOT = Path(CLOTHING_SMALL) / "test"
PHOTOS = folder_photos(ROOT)
CORPUS = hostile_corpus(
    demo_message(PHOTOS[0], ROOT, inline=True), "http://127.0.0.1:1/", (p.read_bytes() for p in PHOTOS[1:])
)


def test_the_corpus_is_large_and_its_markers_are_distinct() -> None:
    markers = [record.marker for record in CORPUS]
    assert len(CORPUS) >= 40
    assert not [(a, b) for a in markers for b in markers if a != b and a in b]


@pytest.mark.parametrize("record", [r for r in CORPUS if r.value is not None], ids=lambda r: r.marker)
def test_each_record_is_parsed_or_rejected_at_parsing_as_expected(record: HostileRecord) -> None:
    assert record.value is not None
    raw = record.value.decode(errors="replace")  # as the spout passes it on
    if record.expected != "parse":
        message = parse_message(raw)
        assert isinstance(message, UpsertMessage)
        assert (message.image_bytes() is None) == (record.expected == "fetch")
        assert record.expected in (INDEXED, "fetch")
        return
    with pytest.raises(RecordRejected) as rejected:
        message = parse_message(raw)
        assert isinstance(message, UpsertMessage)
        message.image_bytes()  # inline bytes are decoded after parsing, still in the parse stage
    assert rejected.value.stage == "parse"
    assert rejected.value.reason
