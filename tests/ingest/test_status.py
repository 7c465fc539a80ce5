from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.dead_letter import DeadLetter
from ingest.status import ProductStatus, StatusTable, product_id_of


def test_a_status_travels_as_json_and_back() -> None:
    status = ProductStatus.queued("P1")
    assert status.key() == b"P1"
    assert ProductStatus.decode(status.encode()) == status
    with pytest.raises(ValidationError):
        ProductStatus.decode(b'{"product_id": "P1", "state": "lost"}')


def test_a_dead_letter_gives_its_product_stage_and_reason() -> None:
    letter = DeadLetter.of('{"product_id": " P7 ", "op": "upsert"}', "fetch", "HTTP 404", source="images/0/12")
    status = ProductStatus.dead_lettered(letter)
    assert status is not None
    assert (status.product_id, status.state) == ("P7", "dead_lettered")
    assert (status.stage, status.reason) == ("fetch", "HTTP 404")
    assert (status.source, status.at) == ("images/0/12", letter.failed_at)


DEEP = '{"product_id": "P1", "x": ' + "[" * 20_000 + "]" * 20_000 + "}"  # once killed the dead-letter bolt


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json",
        "[1]",
        '{"product_id": 3}',
        '{"product_id": "  "}',
        "{}",
        '{"product_id": "' + "p" * 257 + '"}',
        DEEP,
    ],
)
def test_a_dead_letter_naming_no_product_gives_no_status(message: str) -> None:
    assert product_id_of(message) is None
    assert ProductStatus.dead_lettered(DeadLetter.of(message, "parse", "bad")) is None


def _status(product_id: str, state: str) -> ProductStatus:
    return ProductStatus(product_id=product_id, state=state, at=datetime.now(UTC))  # type: ignore[arg-type]


def test_the_table_keeps_the_latest_record_of_each_product_by_offset() -> None:
    table = StatusTable()
    table.apply(5, _status("P1", "queued"))
    table.apply(9, _status("P1", "searchable"))
    table.apply(5, _status("P1", "queued"))  # read again after a reconnection: older, ignored
    table.apply(7, _status("P2", "dead_lettered"))
    assert table.get("P1").state == "searchable"  # type: ignore[union-attr]
    assert table.get("P2").state == "dead_lettered"  # type: ignore[union-attr]
    assert table.get("P3") is None
    assert len(table) == 2
