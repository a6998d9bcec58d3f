"""Byte sources as iterators of chunks: counting, decompression detected from the first bytes, peeking.

Everything downstream consumes `Iterator[bytes]`, so memory is bounded by the chunk in hand.
"""

from __future__ import annotations

import bz2
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol

import zstandard

from shared.domain.errors import CorruptInputError

READ_CHUNK = 1 << 20
# Output per decompression step; the codecs keep the rest of their input until asked again.
OUT_CHUNK = 1 << 20
# zstd's decompressobj has no output cap: small input steps bound what one step can expand to.
ZSTD_IN_STEP = 512

GZIP, BZIP2, ZSTD = "gzip", "bzip2", "zstd"
MAGIC_BYTES = 10  # enough of the head to tell every compression
_SUFFIXES = {".gz": GZIP, ".gzip": GZIP, ".bz2": BZIP2, ".zst": ZSTD, ".zstd": ZSTD}


class ByteCounter:
    """Counts the bytes read from the object itself (compressed bytes), for progress."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


def file_chunks(
    fileobj: BinaryIO, counter: ByteCounter | None = None, size: int = READ_CHUNK
) -> Iterator[bytes]:
    """Read a binary file-like object (a local file, an S3 body) chunk by chunk."""
    while chunk := fileobj.read(size):
        if counter is not None:
            counter.count += len(chunk)
        yield chunk


_ZSTD_SKIPPABLE = re.compile(rb"[\x50-\x5f]\x2a\x4d\x18", re.S)
_BZIP2_HEAD = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")  # a block or the end-of-stream marker


def compression_of(head: bytes) -> str | None:
    """The compression the first bytes announce, or None for plain data.

    A zstd file may open with a skippable frame (pzstd writes one); "BZh" must be followed by a
    block size and a bzip2 block marker, so a text file that starts with "BZh" stays text.
    """
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd") or _ZSTD_SKIPPABLE.match(head):
        return ZSTD
    if _BZIP2_HEAD.match(head):
        return BZIP2
    return None


def strip_compression_suffix(name: str) -> tuple[str, str | None]:
    """`data.csv.gz` -> (`data.csv`, "gzip"): what the name says, before the content is looked at."""
    lowered = name.lower()
    for suffix, codec in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return name[: -len(suffix)], codec
    return name, None


class Peekable:
    """A chunk iterator whose first bytes can be looked at without being consumed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._head: list[bytes] = []
        self._head_len = 0
        self._exhausted = False

    def peek(self, n: int) -> bytes:
        while self._head_len < n and not self._exhausted:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._exhausted = True
            elif chunk:
                self._head.append(chunk)
                self._head_len += len(chunk)
        return b"".join(self._head)[:n]

    def __iter__(self) -> Iterator[bytes]:
        head, self._head, self._head_len = self._head, [], 0
        yield from head
        yield from self._chunks


def skip_bytes(chunks: Iterator[bytes], n: int) -> Iterator[bytes]:
    """Drop the first n bytes (resuming a compressed object re-reads it from the start)."""
    for chunk in chunks:
        if n >= len(chunk):
            n -= len(chunk)
            continue
        yield chunk[n:] if n else chunk
        n = 0
    if n:
        raise CorruptInputError(f"the object ended {n} bytes before the checkpointed offset")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...


def _multistream(
    chunks: Iterator[bytes],
    new: Callable[[], _Decompressor],
    name: str,
    drain: Callable[[_Decompressor, bytes], Iterator[bytes]],
) -> Iterator[bytes]:
    """Decompress concatenated streams (gzip members, bzip2 streams, zstd frames) with bounded output."""
    dec = new()
    fed = False
    for chunk in chunks:
        data = chunk
        while data:
            fed = True
            try:
                yield from drain(dec, data)
            except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError) as exc:
                raise CorruptInputError(f"the {name} stream is corrupt: {exc}") from exc
            data = b""
            if dec.eof:
                # What follows a finished stream is another stream, or zero padding.
                data = dec.unused_data.lstrip(b"\x00")
                dec, fed = new(), False
    if fed and not dec.eof:
        raise CorruptInputError(f"the {name} stream is truncated: it ends before its end marker")


def _drain_zlib(dec: Any, data: bytes) -> Iterator[bytes]:
    while data and not dec.eof:
        out = dec.decompress(data, OUT_CHUNK)
        if out:
            yield out
        data = dec.unconsumed_tail


def _drain_bz2(dec: Any, data: bytes) -> Iterator[bytes]:
    out = dec.decompress(data, OUT_CHUNK)
    while True:
        if out:
            yield out
        if dec.eof or dec.needs_input:
            return
        out = dec.decompress(b"", OUT_CHUNK)


def _drain_zstd(dec: _Decompressor, data: bytes) -> Iterator[bytes]:
    assert isinstance(dec, _ZstdFrame)
    for start in range(0, len(data), ZSTD_IN_STEP):
        out = dec.decompress(data[start : start + ZSTD_IN_STEP])
        if out:
            yield out
        if dec.eof:
            dec.keep(data[start + ZSTD_IN_STEP :])  # the surplus input starts the next frame
            return


class _ZstdFrame:
    """One zstd frame; zstandard's decompressobj has no output cap, so input goes in small steps."""

    def __init__(self) -> None:
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._surplus = b""

    @property
    def eof(self) -> bool:
        return bool(self._obj.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._obj.unused_data) + self._surplus

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._obj.decompress(data))

    def keep(self, surplus: bytes) -> None:
        self._surplus += surplus


def decompressed(chunks: Iterator[bytes], compression: str | None) -> Iterator[bytes]:
    """The decompressed chunks of a (possibly) compressed chunk stream."""
    if compression is None:
        return chunks
    if compression == GZIP:
        return _multistream(chunks, lambda: zlib.decompressobj(31), "gzip", _drain_zlib)
    if compression == BZIP2:
        return _multistream(chunks, bz2.BZ2Decompressor, "bzip2", _drain_bz2)
    if compression == ZSTD:
        return _multistream(chunks, _ZstdFrame, "zstd", _drain_zstd)
    raise ValueError(f"unknown compression {compression!r}")
