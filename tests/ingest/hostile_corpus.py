"""A corpus of hostile Kafka records: what a buggy, careless or malicious crawler could publish to `images`.

Each record says what must become of it: `indexed` (odd but valid: it must be searchable), or the stage whose
dead letter must name it. Every record carries its marker (`hostile-NN-name`) in its key and, where the value can
hold text, in its value, so that its dead letter can be found. A marker is never a substring of another.
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ingest.message import UpsertMessage

INDEXED = "indexed"
DEEP = 20_000  # far deeper than a JSON parser's recursion limit (about 1,000), and under Kafka's 1 MB


@dataclass(frozen=True)
class HostileRecord:
    """One Kafka record (key, raw value) and its expected outcome (INDEXED or a dead-letter stage)."""

    marker: str
    key: bytes
    value: bytes | None
    expected: str


def hostile_corpus(template: UpsertMessage, base_url: str, photos: Iterator[bytes]) -> list[HostileRecord]:
    """The corpus, built from one valid inline upsert (template), a local HTTP server's URL, and photos: each record
    that must be indexed takes the next one, so that no two of them are the same item."""
    fields: dict[str, Any] = template.model_dump(mode="json", exclude_none=True)
    corpus: list[HostileRecord] = []

    def add(name: str, expected: str, value: bytes | None, key: bytes | None = None) -> None:
        marker = f"hostile-{len(corpus):02d}-{name}"
        raw = value.replace(b"MARKER", marker.encode()) if value is not None else None
        corpus.append(HostileRecord(marker, key or marker.encode(), raw, expected))

    def message(name: str, expected: str, key: bytes | None = None, **changes: Any) -> None:
        """A message like the template, with fields changed (a change to None removes the field)."""
        record = fields | {"product_id": "MARKER"} | changes
        if expected == INDEXED:
            record["image_b64"] = base64.b64encode(next(photos)).decode()
        add(name, expected, json.dumps({k: v for k, v in record.items() if v is not None}).encode(), key)

    def raw_json(name: str, expected: str, text: str) -> None:
        """A message like the template with one field's JSON text replaced (for what json.dumps cannot write)."""
        field, literal = text.split("=", 1)
        record = fields | {"product_id": "MARKER"}
        encoded = json.dumps(record).replace(f'"{field}": {json.dumps(record[field])}', f'"{field}": {literal}')
        assert literal in encoded, text
        add(name, expected, encoded.encode())

    # values that are not a message at all
    add("null-value", "spout", None)
    add("empty-value", "parse", b"")
    add("invalid-utf8", "parse", b"\xff\xfe MARKER \xc3\x28")
    add("json-null", "parse", b'null ["MARKER"]')
    add("json-number", "parse", b"42")
    add("json-string", "parse", b'"MARKER"')
    add("json-array", "parse", b'["MARKER"]')
    add("deep-array", "parse", b'{"product_id": "MARKER", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}")
    add("deep-object", "parse", b'{"product_id": "MARKER", "x": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}")
    add("truncated", "parse", json.dumps(fields | {"product_id": "MARKER"}).encode()[:-20])
    # numbers
    raw_json("price-nan", "parse", "price=NaN")
    raw_json("price-infinity", "parse", "price=Infinity")
    raw_json("price-overflow", "parse", "price=1e999")
    raw_json("price-huge-integer", "parse", "price=" + "9" * 400)
    message("price-negative-zero", INDEXED, price=-0.0)
    message("price-string", "parse", price="12,50")
    message("price-bool", "parse", price=True)
    message("price-object", "parse", price={"amount": 1})
    message("price-beyond-float32", INDEXED, price=1e300)
    message("schema-version-bool", "parse", schema_version=True)
    message("schema-version-string", "parse", schema_version="1")
    message("schema-version-float", "parse", schema_version=1.5)
    # strings and unicode
    message("lone-surrogate", "parse", title="\ud800 half a pair")
    message("nul-in-title", "parse", title="linen\u0000dress")
    message("control-in-brand", "parse", brand="acme\u001b[31m")
    message("cjk-title-at-limit", INDEXED, title="連" * 1000)
    message("emoji-title", INDEXED, title="👗" * 300 + " dress")
    message("rtl-zero-width", INDEXED, title="\u202efoo\u200b\u200dbar", brand="\u05d0\u05d1")
    message("title-over-limit", "parse", title="x" * 1001)
    message("title-whitespace-only", "parse", title="   \t ")
    message("title-array", "parse", title=["a", "b"])
    message("title-number", "parse", title=12)
    add("product-id-empty", "parse", json.dumps(fields | {"product_id": "", "title": "MARKER"}).encode())
    add("product-id-long", "parse", json.dumps(fields | {"product_id": "MARKER" + "p" * 256}).encode())
    message("product-id-emoji", INDEXED, product_id="MARKER-" + "🧥" * 60)
    message("currency-lowercase", "parse", currency="usd")
    message("extra-field", "parse", colour_hex="#ffffff")
    message("missing-op", "parse", op=None)
    raw_json("op-null", "parse", "op=null")
    # times
    message("crawled-at-naive", "parse", crawled_at="2025-01-01T00:00:00")
    message("crawled-at-garbage", "parse", crawled_at="yesterday")
    message("crawled-at-max-year", "parse", crawled_at="9999-12-31T23:59:59-14:00")
    message("crawled-at-min-year", "parse", crawled_at="0001-01-01T00:00:00+14:00")
    message("in-stock-maybe", "parse", in_stock="maybe")
    # the photo
    message("b64-data-url", "parse", image_b64="data:image/jpeg;base64," + str(fields["image_b64"]))
    message("b64-wrong-type", "parse", image_b64=1234)
    # URLs (the photo is fetched: no inline bytes)
    url_cases = {
        "url-port-out-of-range": "http://h:99999/x.jpg",
        "url-unclosed-ipv6": "http://[::1/x.jpg",
        "url-tab": base_url + "a\tb.jpg",
        "url-crlf-injection": base_url + "x.jpg\r\nHost: evil",
        "url-no-host": "http:///x.jpg",
        "url-port-zero": "http://127.0.0.1:0/x.jpg",
        "url-credentials-internal": "http://user:pass@127.0.0.1:1/x.jpg",
        "url-hex-metadata": "http://0xa9fea9fe/latest/meta-data",  # 169.254.169.254
        "url-mapped-metadata": "http://[::ffff:169.254.169.254]/latest",
        "url-idn-unknown-host": "http://例え.テスト/x.jpg",
        "url-2048-chars": "http://h.invalid/" + "x" * 2031,
    }
    for name, url in url_cases.items():
        message(name, "fetch", image_b64=None, image_url=url)
    message("url-ftp", "parse", image_b64=None, image_url="ftp://h/x.jpg")
    message("url-javascript", "parse", image_b64=None, image_url="javascript:alert(1)")
    # keys
    message("key-binary", INDEXED, key=b"\x00\xff\xfe")
    return corpus
