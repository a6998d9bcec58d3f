"""Generated and mutated inputs for every reader and compression, held to the reference readers.

Whatever the bytes: no exception but `InputFileError` leaves a reader; every record is a record or a
rejection with its line; what is sent equals the reference's records byte for byte (JSON Lines,
text) or value for value (JSON array, CSV). `make test` runs a bounded number of examples;
`make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs thousands.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import json

import orjson
import pytest
import zstandard
from hypothesis import assume, example, given
from hypothesis import strategies as st

from shared.delivery.packing import to_entries
from shared.delivery.partition_keys import field_key
from shared.domain.errors import InputFileError
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor, Record, Rejection
from shared.readers.detect import FORMATS
from shared.readers.source import MAGIC_BYTES, compression_of
from tests import reference
from tests.helpers import read, stream
from tests.strategies import dumped, json_line, json_values, odd_json

pytestmark = pytest.mark.fuzz

chunks = st.sampled_from([1, 2, 3, 7, 64, 1 << 20])


def plain(data: bytes) -> bytes:
    """Plain content: what starts with a compression's magic bytes is read as compressed (by design)."""
    assume(compression_of(data[:MAGIC_BYTES]) is None)
    return data


def items_of(data: bytes, name: str, chunk: int, fmt: str | None = None, **kw) -> list:
    try:
        return read(data, name, fmt=fmt, chunk=chunk, **kw)
    except InputFileError:
        return ["file failed"]


def summary(items: list) -> list[tuple]:
    out: list[tuple] = []
    for item in items:
        if isinstance(item, Record):
            out.append(("record", item.line, item.data))
        elif isinstance(item, Rejection):
            out.append(("rejected", item.line))
        else:
            out.append(item)
    return out


def assert_numbered(items: list) -> None:
    """seq counts every record and rejection from 0; lines and offsets only go forward."""
    records = [i for i in items if isinstance(i, (Record, Rejection))]
    assert [i.seq for i in records] == list(range(len(records)))
    pairs = list(itertools.pairwise(records))
    assert all(a.line <= b.line and a.offset < b.offset for a, b in pairs)


# -- JSON Lines and text ----------------------------------------------------------------------------
@given(st.lists(json_line, max_size=12), st.sampled_from([b"\n", b"\r\n"]), st.booleans(), chunks)
@example([b"[1," + b"[" * 1500 + b"]" * 1500 + b"]"], b"\n", True, 1 << 20)
def test_json_lines_match_the_reference(lines, newline, trailing, chunk):
    data = plain(newline.join(lines) + (newline if trailing else b""))
    items = items_of(data, "x.jsonl", chunk)
    assert summary(items) == reference.json_lines(data)
    assert_numbered(items)


@given(st.lists(st.binary(max_size=12) | st.text(max_size=8).map(str.encode), max_size=12), chunks)
def test_text_lines_match_the_reference(lines, chunk):
    data = plain(b"\n".join(lines))
    items = items_of(data, "x.txt", chunk)
    assert summary(items) == reference.text_lines(data)
    assert_numbered(items)


# -- JSON arrays ------------------------------------------------------------------------------------
@given(st.lists(json_values, max_size=10), st.sampled_from([None, 0, 2]), chunks)
def test_json_array_elements_equal_the_references_values(values, indent, chunk):
    data = json.dumps(values, indent=indent, ensure_ascii=False).encode("utf-8", "surrogatepass")
    items = items_of(data, "x.json", chunk)
    assert [json.loads(i.data) for i in items if isinstance(i, Record)] == [
        v for v in json.loads(data) if reference.depth(v) <= reference.MAX_DEPTH
    ]
    assert all(isinstance(i, Record) for i in items)
    assert_numbered(items)


@given(st.lists(json_line, min_size=1, max_size=8), chunks)
@example([b"1", b"[" * 1500 + b"]" * 1500, b"2"], 1 << 20)
def test_hostile_json_array_elements_are_each_a_record_or_a_rejection(elements, chunk):
    data = b"[" + b",".join(elements) + b"]"
    items = items_of(data, "x.json", chunk)
    if items == ["file failed"]:
        return  # a broken structure (an element that eats the comma, say) fails the file clearly
    assert_numbered(items)
    for item in items:
        if isinstance(item, Record):
            assert reference.json_value(item.data.decode())[0]


@given(st.lists(json_values, max_size=6), chunks, st.data())
def test_json_keys_never_escape_as_exceptions(values, chunk, data):
    # GIVEN objects whose key field holds anything, including numbers orjson cannot hold exactly
    key = data.draw(json_values | odd_json.map(lambda b: b.decode("utf-8", "replace")))
    docs = [{"k": key if i % 2 else v} for i, v in enumerate(values)]
    raw = b"\n".join(dumped(d) for d in docs)
    items = items_of(raw, "x.jsonl", chunk, keep_value=True)
    out = list(to_entries(items, field_key("k"), KinesisLimits()))
    assert len(out) == len(items)


@given(
    st.integers(min_value=-(10**40), max_value=10**40).map(str)
    | st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?\Z")
)
def test_number_keys_are_the_text_the_file_holds(number):
    line = b'{"id": ' + number.encode() + b', "x": 1}'
    [entry] = to_entries(read(line, "x.jsonl", keep_value=True), field_key("id"), KinesisLimits())
    assert entry.partition_key == number


# -- CSV ----------------------------------------------------------------------------------------------
cells = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
CSV_STATE = {"format": "csv", "delimiter": ","}


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # so a lone "\r" in a cell is quoted
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_items(text: str, chunk: int) -> list:
    try:
        return list(stream(text.encode(), "x.csv", chunk=chunk, cursor=Cursor(state=CSV_STATE)))
    except InputFileError:
        return ["file failed"]


def csv_summary(items: list) -> list[tuple]:
    out: list[tuple] = []
    for item in items:
        if isinstance(item, Record):
            out.append(("record", item.line, orjson.loads(item.data)))
        elif isinstance(item, Rejection):
            out.append(("rejected", item.line))
        else:
            out.append(item)
    return out


def csv_reference(text: str) -> list[tuple]:
    try:
        return reference.csv_rows(text)
    except reference.FileFailed:
        return ["file failed"]


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=n, max_size=n, unique=True),
    st.lists(st.lists(cells, min_size=n, max_size=n), max_size=8),
)), chunks)  # fmt: skip
def test_well_formed_csv_equals_strict_csv_value_for_value(table, chunk):
    header, rows = table
    text = csv_text(header, rows)
    items = csv_items(text, chunk)
    got = [orjson.loads(i.data) for i in items if isinstance(i, Record)]
    assert got == [dict(zip(header, row, strict=True)) for row in rows]
    assert csv_summary(items) == csv_reference(text)


@given(
    st.lists(st.lists(cells, min_size=2, max_size=2), max_size=6),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(['"', ",", "\n", '""', "\r", "x"])), max_size=4),
    chunks,
)  # fmt: skip
def test_mutated_csv_loses_no_line_and_matches_the_reference(rows, mutations, chunk):
    text = csv_text(["a", "b"], rows)
    for at, piece in mutations:
        at = min(at, len(text))
        text = text[:at] + piece + text[at:]
    items = csv_items(text, chunk)
    assert csv_summary(items) == csv_reference(text)
    if items != ["file failed"]:
        assert_numbered(items)


# -- compression, and anything at all ----------------------------------------------------------------
def zstd_frames(data: bytes) -> bytes:
    half = len(data) // 2
    skip = (0x184D2A50).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"pz!"
    frame = zstandard.ZstdCompressor().compress
    return skip + frame(data[:half]) + skip + frame(data[half:])


COMPRESSORS = {
    "gzip members": lambda d: gzip.compress(d[: len(d) // 2]) + gzip.compress(d[len(d) // 2 :]),
    "bzip2 streams": lambda d: bz2.compress(d[: len(d) // 3]) + bz2.compress(d[len(d) // 3 :]),
    "zstd frames": zstd_frames,
}


@given(st.lists(json_line, max_size=10), st.sampled_from(sorted(COMPRESSORS)), chunks)
def test_every_compressed_variant_reads_as_the_plain_file(lines, codec, chunk):
    data = plain(b"\n".join(lines) + b"\n")
    packed = COMPRESSORS[codec](data)
    assert summary(items_of(packed, "x.jsonl", chunk)) == summary(items_of(data, "x.jsonl", chunk))


@given(
    st.binary(max_size=300),
    st.sampled_from([None, *FORMATS]),
    st.sampled_from(["x", "x.json", "x.csv", "x.gz"]),
    st.sampled_from([None, "gzip", "bzip2", "zstd"]),
    st.tuples(st.integers(0, 400), st.binary(max_size=3)),
    chunks,
)
def test_any_bytes_give_records_rejections_or_a_file_error(data, fmt, name, codec, cut, chunk):
    if codec is not None:
        packed = {
            "gzip": gzip.compress,
            "bzip2": bz2.compress,
            "zstd": zstandard.ZstdCompressor().compress,
        }
        data = packed[codec](data)
        at = min(cut[0], len(data))
        data = data[:at] + cut[1] + data[at + len(cut[1]) :]  # corrupt a few bytes
    items = items_of(data, name, chunk, fmt=fmt, keep_value=True)
    if items != ["file failed"]:
        assert_numbered(items)
        key = field_key("a") if fmt not in (None, "text") else None
        if key is not None:
            assert len(list(to_entries(items, key, KinesisLimits()))) == len(items)
