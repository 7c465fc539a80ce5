"""Opaque pagination cursors: the offset of the next page, bound to the query that issued it.

A cursor is URL-safe base64 of `{"o": offset, "f": fingerprint}`; the fingerprint is a hash of everything that
defines the ranking (query image, filters, text, collapsing), so a cursor sent with another query is refused.
"""

import base64
import binascii
import hashlib
import json
from typing import Any

from api.errors import BadCursor

FINGERPRINT_CHARS = 16


def query_fingerprint(**parts: Any) -> str:
    """A short stable hash of the query's defining parts (JSON-serialisable values; bytes are hashed)."""
    canonical = {name: hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else value
                 for name, value in parts.items()}  # fmt: skip
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_CHARS]


def encode_cursor(offset: int, fingerprint: str) -> str:
    """The cursor of the page starting at offset."""
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, fingerprint: str, max_offset: int) -> int:
    """The offset a cursor points to (0 without one); BadCursor if malformed, foreign or too deep."""
    if cursor is None or cursor == "":
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset, issued_for = data["o"], data["f"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise BadCursor("malformed cursor: pass next_cursor from the previous page unchanged") from error
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= max_offset:
        raise BadCursor("malformed cursor: offset out of range")
    if issued_for != fingerprint:
        raise BadCursor("this cursor belongs to another query (image, filters, text or one_per_product changed)")
    return offset
