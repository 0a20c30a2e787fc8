"""Streaming compressors (gzip via isal, zstd) and a decompressor that recognises what it is given."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, cast

import zstandard
from backports import zstd
from isal import isal_zlib

from shared.errors import InvalidInputError
from shared.models import Compression

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
FILE_SUFFIXES: dict[Compression, str] = {
    Compression.GZIP: ".sql.gz",
    Compression.ZSTD: ".sql.zst",
    Compression.NONE: ".sql",
}
_GZIP_WBITS = 31
_ISAL_ERROR = cast(type[Exception], isal_zlib.error)


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def make_compressor(kind: Compression, level: int | None = None) -> Compressor:
    """gzip (isal levels 0–3, default 1), zstd (levels 1–22, default 3), or none."""
    if kind is Compression.GZIP:
        gz_level = 1 if level is None else level
        if not 0 <= gz_level <= 3:
            raise InvalidInputError(f"gzip compression level must be 0–3 (isal), got {gz_level}")
        compressor: Compressor = isal_zlib.compressobj(gz_level, isal_zlib.DEFLATED, _GZIP_WBITS)
        return compressor
    if kind is Compression.ZSTD:
        zstd_level = 3 if level is None else level
        if not 1 <= zstd_level <= 22:
            raise InvalidInputError(f"zstd compression level must be 1–22, got {zstd_level}")
        return zstandard.ZstdCompressor(level=zstd_level, threads=-1).compressobj()
    return _Identity()


def detect_compression(head: bytes) -> Compression:
    """Which format a file starting with `head` is in (plain SQL when neither magic matches)."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


def decompress_stream(chunks: Iterable[bytes], kind: Compression | None = None) -> Iterator[bytes]:
    """Yield the decompressed bytes of `chunks`. With `kind` None, the format is detected from the first
    bytes. A truncated or corrupt stream raises `InvalidInputError` — never a silent short result."""
    iterator = iter(chunks)
    first = b""
    for chunk in iterator:
        first += chunk
        if len(first) >= len(ZSTD_MAGIC):
            break
    kind = detect_compression(first) if kind is None else kind
    if kind is Compression.GZIP:
        yield from _gunzip(_prepend(first, iterator))
    elif kind is Compression.ZSTD:
        yield from _unzstd(_prepend(first, iterator))
    else:
        yield from _prepend(first, iterator)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


OUTPUT_LIMIT = 1 << 20
"""At most this many bytes come out of one decoding step, so memory stays flat however well the data
compressed."""


class _Member(Protocol):
    """One compressed member being decoded."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode `data`, in pieces of at most about `OUTPUT_LIMIT` bytes."""
        ...


class _GzipMember:
    def __init__(self) -> None:
        self._decoder = isal_zlib.decompressobj(_GZIP_WBITS)

    @property
    def eof(self) -> bool:
        return bool(self._decoder.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._decoder.unused_data)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._decoder.decompress(data, OUTPUT_LIMIT)
            if out:
                yield out
            data = self._decoder.unconsumed_tail
            if self._decoder.eof or (not data and len(out) < OUTPUT_LIMIT):
                return


class _ZstdMember:
    """Decoded with `backports.zstd` (the standard library's `compression.zstd` from Python 3.14), whose
    decoder takes an output limit as zlib's does; `zstandard`'s has none, so one 16 KiB slice of a run of
    zeros could come out as hundreds of MiB."""

    def __init__(self) -> None:
        self._decoder = zstd.ZstdDecompressor()

    @property
    def eof(self) -> bool:
        return bool(self._decoder.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._decoder.unused_data)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._decoder.decompress(data, OUTPUT_LIMIT)
            if out:
                yield out
            data = b""  # the decoder keeps what it has not used yet
            if self._decoder.eof or self._decoder.needs_input:
                return


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    return _decode_members(chunks, _GzipMember, _ISAL_ERROR, "gzip")


def _unzstd(chunks: Iterator[bytes]) -> Iterator[bytes]:
    return _decode_members(chunks, _ZstdMember, zstd.ZstdError, "zstd")


def _decode_members(
    chunks: Iterator[bytes],
    new_member: Callable[[], _Member],
    error: type[Exception],
    name: str,
) -> Iterator[bytes]:
    """Decode one or more concatenated members (as `cat a.gz b.gz` makes); a member cut short fails."""
    member = new_member()
    in_member = False
    try:
        for chunk in chunks:
            while chunk:
                in_member = True
                yield from member.feed(chunk)
                if not member.eof:
                    break
                chunk = member.unused_data
                member = new_member()
                in_member = False
    except error as exc:
        raise InvalidInputError(f"the file is not valid {name} data ({exc})") from None
    if in_member:
        raise InvalidInputError(f"the {name} data ends early: the file is truncated")
