import bz2
import gzip
import io
import zlib

import pytest
import zstandard

from shared.domain.errors import CorruptInputError
from shared.readers.source import (
    MAGIC_BYTES,
    ByteCounter,
    Peekable,
    compression_of,
    decompressed,
    file_chunks,
    skip_bytes,
    strip_compression_suffix,
)
from tests.helpers import chunked

PAYLOAD = b"".join(b"line %d \xc3\xa9\n" % i for i in range(20000))
COMPRESS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
}


def inflate(data: bytes, chunk: int = 4096) -> bytes:
    return b"".join(decompressed(chunked(data, chunk), compression_of(data[:MAGIC_BYTES])))


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_compression_is_detected_from_the_first_bytes_and_undone(codec):
    packed = COMPRESS[codec](PAYLOAD)
    assert compression_of(packed[:MAGIC_BYTES]) == codec
    assert inflate(packed) == PAYLOAD


def test_plain_data_has_no_compression():
    assert compression_of(b'{"a": 1}') is None
    assert compression_of(b"BZhello, a text file\n") is None


def skippable(payload: bytes, nibble: int = 0) -> bytes:
    return (
        (0x184D2A50 + nibble).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload
    )


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_zstd_skippable_frames_are_skipped_wherever_they_are(chunk):
    # GIVEN a file as pzstd writes it: a skippable frame before each frame, and one at the end
    frame = zstandard.ZstdCompressor().compress
    packed = skippable(b"\x04\x00\x00\x00") + frame(PAYLOAD[:5000]) + skippable(b"x" * 600, 15)
    packed += frame(PAYLOAD[5000:]) + skippable(b"")
    assert compression_of(packed[:MAGIC_BYTES]) == "zstd"
    assert inflate(packed, chunk=chunk) == PAYLOAD


def test_a_skippable_frame_cut_short_is_a_truncated_stream():
    packed = skippable(b"abcdef")[:-2]
    with pytest.raises(CorruptInputError, match="truncated"):
        inflate(packed, chunk=3)


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_concatenated_streams_are_read_through(codec):
    packed = COMPRESS[codec](b"one\n") + COMPRESS[codec](b"two\n")
    assert inflate(packed, chunk=3) == b"one\ntwo\n"


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_a_truncated_stream_is_a_clear_error(codec):
    packed = COMPRESS[codec](PAYLOAD)
    with pytest.raises(CorruptInputError, match="truncated"):
        inflate(packed[: len(packed) // 2])


def test_corrupt_gzip_is_a_clear_error():
    packed = bytearray(gzip.compress(PAYLOAD))
    packed[len(packed) // 2 : len(packed) // 2 + 16] = b"\x00" * 16
    with pytest.raises(CorruptInputError, match="gzip"):
        inflate(bytes(packed))


def test_gzip_output_is_produced_in_bounded_steps():
    # A highly compressible stream must not come out as one giant chunk.
    packed = gzip.compress(b"\x00" * (20 << 20))
    sizes = [len(c) for c in decompressed(iter([packed]), "gzip")]
    assert sum(sizes) == 20 << 20
    assert max(sizes) <= 1 << 20


def test_zlib_level_garbage_after_a_member_is_an_error():
    with pytest.raises(CorruptInputError):
        inflate(gzip.compress(b"ok\n") + b"garbage!")


def test_zero_padding_after_gzip_is_ignored():
    assert inflate(gzip.compress(b"ok\n") + b"\x00" * 10) == b"ok\n"


def test_suffix_names_the_compression():
    assert strip_compression_suffix("a/b.csv.GZ") == ("a/b.csv", "gzip")
    assert strip_compression_suffix("x.jsonl") == ("x.jsonl", None)


def test_peek_does_not_consume():
    p = Peekable(chunked(b"abcdefgh", 3))
    assert p.peek(5) == b"abcde"
    assert b"".join(p) == b"abcdefgh"


def test_skip_bytes_and_overrun():
    assert b"".join(skip_bytes(chunked(b"abcdefgh", 3), 4)) == b"efgh"
    with pytest.raises(CorruptInputError):
        list(skip_bytes(chunked(b"abc", 2), 5))


def test_file_chunks_count_the_bytes_read():
    counter = ByteCounter()
    assert b"".join(file_chunks(io.BytesIO(b"x" * 10), counter, size=3)) == b"x" * 10
    assert counter.count == 10


def test_zlib_error_type_is_wrapped():
    assert issubclass(CorruptInputError, Exception)
    with pytest.raises(CorruptInputError):
        inflate(b"\x1f\x8b" + zlib.compress(b"not a gzip header"))
