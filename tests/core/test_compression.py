"""Compression: every format round-trips in any chunking; damaged or truncated data fails loudly."""

import gzip

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from shared.compression import OUTPUT_LIMIT, decompress_stream, detect_compression, make_compressor
from shared.errors import InvalidInputError
from shared.models import Compression


def _compress(kind: Compression, data: bytes) -> bytes:
    compressor = make_compressor(kind)
    return compressor.compress(data) + compressor.flush()


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@given(
    data=st.binary(max_size=200_000),
    kind=st.sampled_from(list(Compression)),
    size=st.integers(min_value=1, max_value=70_000),
)
def test_round_trip_in_any_chunking(data: bytes, kind: Compression, size: int) -> None:
    stored = _compress(kind, data)
    assert b"".join(decompress_stream(_chunks(stored, size), kind)) == data
    if kind is not Compression.NONE:
        assert b"".join(decompress_stream(_chunks(stored, size))) == data


def test_stock_tools_read_our_output() -> None:
    data = b"INSERT INTO t VALUES (1);\n" * 10_000
    assert gzip.decompress(_compress(Compression.GZIP, data)) == data
    zstd_reader = zstandard.ZstdDecompressor().decompressobj()
    assert zstd_reader.decompress(_compress(Compression.ZSTD, data)) == data
    assert detect_compression(_compress(Compression.GZIP, data)) is Compression.GZIP
    assert detect_compression(_compress(Compression.ZSTD, data)) is Compression.ZSTD


def test_multi_member_gzip() -> None:
    assert b"".join(decompress_stream([gzip.compress(b"one;") + gzip.compress(b"two;")])) == b"one;two;"


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
@given(cut=st.integers(min_value=1, max_value=200))
def test_truncated_data_fails(kind: Compression, cut: int) -> None:
    stored = _compress(kind, bytes(range(256)) * 400)
    with pytest.raises(InvalidInputError):
        b"".join(decompress_stream([stored[: max(len(stored) - cut, 2)]]))


def test_corrupt_gzip_fails() -> None:
    stored = bytearray(_compress(Compression.GZIP, b"x" * 10_000 + bytes(range(256)) * 50))
    stored[len(stored) // 2] ^= 0xFF
    with pytest.raises(InvalidInputError):
        b"".join(decompress_stream([bytes(stored)]))


def test_bad_levels_rejected() -> None:
    with pytest.raises(InvalidInputError):
        make_compressor(Compression.GZIP, 9)
    with pytest.raises(InvalidInputError):
        make_compressor(Compression.ZSTD, 0)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (Compression.GZIP, b"0" * (40 << 20)),
        (Compression.ZSTD, b"0" * (40 << 20)),  # a few KiB stored: one input slice held all of it, once
        (
            Compression.ZSTD,
            b"".join(b"INSERT INTO t VALUES (%d,'row %d');\n" % (n, n) for n in range(400_000)),
        ),
    ],
)
def test_each_decoded_piece_is_bounded(kind: Compression, data: bytes) -> None:
    stored = _compress(kind, data)
    total = 0
    for piece in decompress_stream([stored], kind):
        assert len(piece) <= OUTPUT_LIMIT
        total += len(piece)
    assert total == len(data)


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
def test_members_concatenated_inside_one_chunk(kind: Compression) -> None:
    parts = [b"alpha;" * 5000, b"beta;" * 7000, b"gamma;"]
    stored = b"".join(_compress(kind, part) for part in parts)
    assert b"".join(decompress_stream([stored], kind)) == b"".join(parts)
