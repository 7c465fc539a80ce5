"""Pagination cursors: round trip, bound to their query, and robust to garbage."""

import base64

import pytest

from api.cursor import decode_cursor, encode_cursor, query_fingerprint
from api.errors import BadCursor


def test_round_trip_and_no_cursor() -> None:
    fingerprint = query_fingerprint(image=b"jpeg", filters={"category": ["dress"]}, q=None)
    assert decode_cursor(encode_cursor(40, fingerprint), fingerprint, max_offset=100) == 40
    assert decode_cursor(None, fingerprint, max_offset=100) == 0
    assert decode_cursor("", fingerprint, max_offset=100) == 0


def test_fingerprint_depends_on_every_part() -> None:
    base = {"image": b"jpeg", "filters": {"category": ["dress"]}, "q": None}
    fingerprint = query_fingerprint(**base)
    assert fingerprint == query_fingerprint(**dict(reversed(base.items())))  # order of parts does not matter
    for change in ({"image": b"other"}, {"filters": {}}, {"q": "linen"}):
        assert query_fingerprint(**{**base, **change}) != fingerprint


def test_a_cursor_of_another_query_is_refused() -> None:
    cursor = encode_cursor(20, query_fingerprint(q="a"))
    with pytest.raises(BadCursor, match="another query"):
        decode_cursor(cursor, query_fingerprint(q="b"), max_offset=100)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"o": "3", "f": "x"}').decode(),
        base64.urlsafe_b64encode(b'{"o": true, "f": "x"}').decode(),
        base64.urlsafe_b64encode(b'{"o": -1, "f": "x"}').decode(),
        base64.urlsafe_b64encode(b'{"o": 101, "f": "x"}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor, "x", max_offset=100)
