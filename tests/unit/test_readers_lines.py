"""JSON Lines and text: exact bytes, line numbers, offsets, bad records rejected, reading goes on."""

import bz2
import gzip
import tracemalloc

import pytest

from shared.domain.errors import CorruptInputError
from shared.domain.models import Record, Rejection
from shared.readers import ReadOptions, open_records
from tests.helpers import datas, read, rejections

LIMIT = 1024


def test_jsonl_lines_go_out_as_their_exact_bytes():
    lines = [b'{"a": 1,  "b": "x"}', b'{"n": 1.10, "u": "\\u00e9"}', b"[1, 2]"]
    assert datas(read(b"\n".join(lines) + b"\n", "x.jsonl")) == lines


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_crlf_bom_blank_lines_and_no_trailing_newline(chunk):
    data = b'\xef\xbb\xbf{"a":1}\r\n\r\n  \n{"b":2}\r\n{"c":3}'
    items = read(data, "x.jsonl", chunk=chunk)
    assert datas(items) == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
    assert [(i.seq, i.line, i.offset) for i in items] == [(0, 1, 3), (1, 4, 17), (2, 5, 26)]


def test_malformed_line_is_rejected_and_reading_goes_on():
    items = read(b'{"a":1}\n{"a":\n{"b":2}\n', "x.jsonl")
    assert datas(items) == [b'{"a":1}', b'{"b":2}']
    [bad] = rejections(items)
    assert (bad.seq, bad.line, bad.code, bad.raw) == (1, 2, "MalformedJson", b'{"a":')
    assert "malformed JSON" in bad.reason


def test_invalid_utf8_is_rejected_with_its_position():
    items = read(b'{"a":"ok"}\n{"a":"\xff"}\n', "x.jsonl")
    [bad] = rejections(items)
    assert bad.code == "InvalidUtf8" and "byte 6" in bad.reason and bad.line == 2


def test_multibyte_line_exactly_at_the_limit_is_kept_one_byte_more_is_not():
    at_limit = "é".encode() * (LIMIT // 2)  # 1024 bytes, 512 characters
    over = at_limit + b"a"
    items = read(
        b"\n".join([at_limit, over, b"tail"]) + b"\n", "x.txt", max_record=LIMIT, chunk=100
    )
    assert isinstance(items[0], Record) and items[0].data == at_limit
    assert isinstance(items[1], Rejection) and items[1].code == "Oversized" and items[1].raw is None
    assert "1025 bytes" in items[1].reason
    assert items[2].data == b"tail" and items[2].line == 3


def test_text_lines_keep_their_bytes_and_reject_invalid_utf8():
    items = read(b"  indented\t\nplain\n\xc3\x28 broken\n\nlast", "x.log")
    assert datas(items) == [b"  indented\t", b"plain", b"last"]
    [bad] = rejections(items)
    assert (bad.seq, bad.line, bad.code) == (2, 3, "InvalidUtf8")
    assert items[-1].line == 5


def test_empty_file_has_no_records():
    assert read(b"", "x.jsonl") == []
    assert read(b"", "x.txt") == []


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_compressed_files_read_like_plain_ones(compress):
    data = b"".join(b'{"i": %d}\n' % i for i in range(5000))
    assert datas(read(compress(data), "x.jsonl.gz", chunk=1000)) == data.splitlines()


def test_compressed_without_a_telling_name_is_still_detected():
    assert datas(read(gzip.compress(b'{"a":1}\n'), "upload")) == [b'{"a":1}']


def test_truncated_gzip_fails_the_file_after_the_records_before_it():
    data = gzip.compress(b"".join(b'{"i": %d}\n' % i for i in range(50000)))
    with pytest.raises(CorruptInputError, match="truncated"):
        read(data[: len(data) - 50], "x.jsonl.gz")


def test_a_50_mb_json_line_is_rejected_in_bounded_memory():
    # GIVEN a 50 MB line between two good ones, arriving in 1 MiB chunks never materialized whole
    def chunks():
        yield b'{"ok": 1}\n{"big": "'
        for _ in range(50):
            yield b"y" * (1 << 20)
        yield b'"}\n{"ok": 2}\n'

    options = ReadOptions(max_record_bytes=1 << 20)
    tracemalloc.start()
    items = list(open_records(chunks(), "x.jsonl", options))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # THEN it is rejected with its size, its neighbours are read, and memory stayed near the limit
    assert datas(items) == [b'{"ok": 1}', b'{"ok": 2}']
    [big] = rejections(items)
    assert big.code == "Oversized" and big.raw is None and f"{(50 << 20) + 11} bytes" in big.reason
    assert peak < 8 << 20
