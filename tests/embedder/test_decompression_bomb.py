"""The decompression-bomb guard: the size in the header is checked before decoding, without touching the
process-wide warning filters (warnings.catch_warnings is not thread-safe, and the API decodes in threads)."""

import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from embedder.errors import ImageDecodeError
from embedder.preprocessing import MAX_PIXELS, decode


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels (no pixel data: only a bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + end


BOMBS = [png_header(7_000, 7_000), png_header(10_000, 10_000), png_header(20_000, 20_000)]


def test_bombs_are_refused_from_their_header_in_many_threads_without_touching_warning_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("decode must not change the process-wide warning filters")

    monkeypatch.setattr(warnings, "catch_warnings", forbidden)
    with ThreadPoolExecutor(8) as pool:
        errors = list(pool.map(refusal, BOMBS * 8))
    assert all(isinstance(error, ImageDecodeError) and "too large" in str(error) for error in errors)
    assert MAX_PIXELS < 7_000 * 7_000


def refusal(data: bytes) -> Exception | None:
    """The error decode raises for data, if any."""
    try:
        decode(data)
    except Exception as error:  # noqa: BLE001 - the test inspects whatever was raised
        return error
    return None
