import json

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from cbir.cli import app
from ingest.dead_letter import DeadLetter
from ingest.dead_letter_replay import DeadLetterChoice, product_id_of
from tests.ingest.kafka_helpers import read_topic, unique_topic
from tests.ingest.test_message import upsert_fields


def _letters() -> list[DeadLetter]:
    return [
        DeadLetter.of(json.dumps(upsert_fields(product_id="P1")), "index", "Solr refused"),
        DeadLetter.of("{not json", "parse", "not JSON"),
        DeadLetter.of(json.dumps(upsert_fields(product_id="P2")), "index", "Solr refused"),
        DeadLetter.of(json.dumps(upsert_fields(product_id="P2")), "fetch", "404"),
    ]


def test_dead_letters_are_chosen_by_stage_and_product() -> None:
    letters = _letters()
    assert [product_id_of(letter) for letter in letters] == ["P1", None, "P2", "P2"]
    assert [DeadLetterChoice(stage="index").matches(letter) for letter in letters] == [True, False, True, False]
    chosen = [DeadLetterChoice(product_id="P2").matches(letter) for letter in letters]
    assert chosen == [False, False, True, True]


@pytest.mark.integration
def test_replay_republishes_the_chosen_original_messages(kafka_bootstrap: str) -> None:
    dlq, images = unique_topic("dlq"), unique_topic("images")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for letter in _letters():
        producer.send(dlq, value=letter.encode())
    producer.flush()
    common = ["--dead-letter-topic", dlq, "--topic", images, "--bootstrap-servers", kafka_bootstrap]
    runner = CliRunner()
    assert runner.invoke(app, ["dlq", "replay", *common]).exit_code == 2  # no filter, no --all
    dry = runner.invoke(app, ["dlq", "replay", "--stage", "index", "--dry-run", *common])
    assert dry.exit_code == 0 and "2 dead letters would be re-published" in dry.output
    result = runner.invoke(app, ["dlq", "replay", "--stage", "index", *common])
    assert result.exit_code == 0, result.output
    records = read_topic(kafka_bootstrap, images, 3, timeout_s=10)
    assert [(r.key, r.value.decode()) for r in records] == [
        (b"P1", _letters()[0].message),
        (b"P2", _letters()[2].message),
    ]
