"""JSON arrays: streamed element by element, compact JSON out, bad elements rejected."""

import json
import tracemalloc

import orjson
import pytest

from shared.domain.errors import CorruptInputError, InputFileError
from shared.domain.models import Record, Rejection
from shared.readers.jsonarray import compact
from tests.helpers import datas, read, rejections, stream


@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 20])
def test_elements_come_out_compact_with_lines_and_offsets(chunk):
    data = b'[\n  {"a": 1, "s": "x y"},\n  [1, 2],\n  "str \\" ing",\n  12.50, true, null\n]\n'
    items = read(data, "x.json", chunk=chunk)
    assert datas(items) == [
        b'{"a":1,"s":"x y"}',
        b"[1,2]",
        b'"str \\" ing"',
        b"12.50",
        b"true",
        b"null",
    ]
    assert [i.line for i in items] == [2, 3, 4, 5, 5, 5]
    assert items[0].offset == 4 and data[items[1].offset : items[1].offset + 1] == b"["


def test_numbers_and_escapes_stay_as_written():
    data = b'[{"big": 123456789012345678901234567890, "f": 1.0e5, "u": "\\u00e9\xc3\xa9"}]'
    [record] = read(data, "x.json")
    assert record.data == b'{"big":123456789012345678901234567890,"f":1.0e5,"u":"\\u00e9\xc3\xa9"}'
    assert json.loads(record.data) == json.loads(data)[0]


def test_malformed_elements_are_rejected_and_reading_goes_on():
    data = b'[{"a": 1}, {"a": tru}, NaN, {"b": 2}, "\xff"]'
    items = read(data, "x.json")
    assert datas(items) == [b'{"a":1}', b'{"b":2}']
    assert [(r.seq, r.code) for r in rejections(items)] == [
        (1, "MalformedJson"),
        (2, "MalformedJson"),
        (4, "InvalidUtf8"),
    ]
    assert rejections(items)[0].raw == b'{"a": tru}'


def test_an_element_too_big_to_hold_is_skipped_in_bounded_memory():
    # GIVEN an element of ~8 MiB with the hold limit at 2 x 64 KiB
    big = b'{"k": [' + b",".join([b'"' + b"y" * 1000 + b'"'] * 8000) + b"]}"
    data = b'[{"a": 1}, ' + big + b', {"b": 2}]'
    tracemalloc.start()
    items = read(data, "x.json", max_record=65536, chunk=65536)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # THEN it is rejected as oversized and the elements around it are read
    assert datas(items) == [b'{"a":1}', b'{"b":2}']
    [bad] = rejections(items)
    assert bad.code == "Oversized" and bad.raw is None and f"{len(big)} bytes" in bad.reason
    assert peak < len(data) / 2 + 2 * 1024 * 1024  # the input itself is held by the test


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b'{"a": 1}', None, None),  # read as JSON Lines by content
        (b"  42", InputFileError, "not a JSON array"),
        (b'[{"a": 1}, {"b": 2}', CorruptInputError, "not closed"),
        (b'[{"a": 1} {"b": 2}]', CorruptInputError, "expected ',' or ']'"),
        (b'[{"a": 1},]', CorruptInputError, "followed by no element"),
        (b'[{"a": 1}] trailing', CorruptInputError, "after the closing"),
        (b'[{"a": "unterminated', CorruptInputError, "ends inside the element"),
    ],
)
def test_broken_arrays_fail_the_file_clearly(data, error, match):
    if error is None:
        assert datas(read(data, "x.json")) == [b'{"a": 1}']
        return
    with pytest.raises(error, match=match):
        read(data, "x.json", fmt="json")


def test_empty_array_and_empty_file():
    assert read(b" [ ] \n", "x.json") == []
    assert read(b"", "x.json") == []


@pytest.mark.slow
def test_a_million_small_objects_stream_through():
    n = 1_000_000
    data = b"[" + b",".join(b'{"i":%d}' % i for i in range(n)) + b"]"
    count = last = 0
    for item in stream(data, "x.json"):
        assert isinstance(item, Record)
        count += 1
        last = item
    assert count == n and last.data == b'{"i":%d}' % (n - 1) and last.seq == n - 1


def test_compact_removes_only_whitespace_outside_strings():
    assert compact(b'{ "a b" : [ 1 ,\n 2 ] }') == b'{"a b":[1,2]}'
    assert compact(b'"\\" x"') == b'"\\" x"'


def test_keep_value_parses_the_element():
    [record] = read('[{"user": {"id": "é"}}]'.encode(), "x.json", keep_value=True)
    assert record.value == orjson.loads('{"user": {"id": "é"}}')
    assert not isinstance(record, Rejection)


def test_an_element_nested_too_deep_is_rejected_and_its_neighbours_read():
    data = b"[1," + b"[" * 1500 + b"]" * 1500 + b", 2]"
    items = read(data, "x.json")
    assert datas(items) == [b"1", b"2"]
    [bad] = rejections(items)
    assert (bad.seq, bad.code) == (1, "NestingTooDeep") and "1500 levels" in bad.reason


def test_a_decoder_that_runs_out_of_recursion_rejects_only_that_element(monkeypatch):
    # GIVEN a decoder whose recursion budget is short of an element's depth (Python versions differ)
    from shared.readers import jsonarray

    real = jsonarray.DECODER.raw_decode

    def shallow(text, start):
        if text[start] == "[" and text[start + 1] == "[":
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, start)

    monkeypatch.setattr(jsonarray, "DECODER", type("D", (), {"raw_decode": staticmethod(shallow)}))
    items = read(b'[1, [[3]], {"a": 2}]', "x.json")
    assert datas(items) == [b"1", b'{"a":2}']
    assert [(r.seq, r.code) for r in rejections(items)] == [(1, "NestingTooDeep")]
