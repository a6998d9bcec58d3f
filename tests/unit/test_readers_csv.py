"""CSV/TSV: header row, sniffed delimiter, quoting, bad rows rejected."""

import orjson
import pytest

from shared.errors import InputFileError
from shared.models import Rejection
from tests.helpers import datas, read, rejections


def objects(items):
    return [orjson.loads(d) for d in datas(items)]


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_quoted_fields_with_newlines_delimiters_and_quotes(chunk):
    data = b'\xef\xbb\xbfid,note\r\n1,"a, b"\r\n2,"two\nlines"\r\n3,"say ""hi"""\r\n'
    items = read(data, "x.csv", chunk=chunk)
    assert objects(items) == [
        {"id": "1", "note": "a, b"},
        {"id": "2", "note": "two\nlines"},
        {"id": "3", "note": 'say "hi"'},
    ]
    assert [(i.seq, i.line) for i in items] == [(0, 2), (1, 3), (2, 5)]
    assert items[0].offset == len(b"\xef\xbb\xbfid,note\r\n")


def test_rows_are_compact_json_keyed_by_the_header():
    assert datas(read(b"a,b\n1,\xc3\xa9\n", "x.csv")) == ['{"a":"1","b":"é"}'.encode()]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (b"a;b\n1;2\n3;4\n", "x.csv"),
        (b"a\tb\n1\t2\n", "x.tsv"),
        (b"a|b\n1|2\n", "x.csv"),
        (b"a\tb\n1\t2\n3\t4\n", "noext"),
    ],
)
def test_delimiter_is_sniffed(text, name):
    assert objects(read(text, name))[0] == {"a": "1", "b": "2"}


def test_wrong_field_count_and_invalid_utf8_are_rejected_and_reading_goes_on():
    items = read(b"a,b\n1,2\n3\n4,5,6\n\xff,7\n8,9\n", "x.csv")
    assert objects(items) == [{"a": "1", "b": "2"}, {"a": "8", "b": "9"}]
    bad = rejections(items)
    assert [(r.seq, r.line, r.code) for r in bad] == [
        (1, 3, "FieldCount"),
        (2, 4, "FieldCount"),
        (3, 5, "InvalidUtf8"),
    ]
    assert bad[0].reason == "row has 1 field; the header has 2 fields"
    assert bad[0].raw == b"3"


def test_blank_lines_are_not_rows():
    items = read(b"a,b\n\n1,2\n\n", "x.csv")
    assert len(items) == 1 and items[0].line == 3


def test_an_oversized_quoted_row_is_skipped_and_the_next_row_parses():
    big = b'"' + b"x\n" * 1000 + b'"'
    items = read(b"a,b\n" + big + b",1\n2,3\n", "x.csv", max_record=1024, chunk=64)
    first, second = items
    assert isinstance(first, Rejection) and first.code == "Oversized" and first.line == 2
    assert objects([second]) == [{"a": "2", "b": "3"}] and second.line == 1003


def test_duplicate_header_names_fail_the_file():
    with pytest.raises(InputFileError, match="repeats column names: a"):
        read(b"a,b,a\n1,2,3\n", "x.csv")


def test_header_only_and_empty_files_have_no_records():
    assert read(b"a,b\n", "x.csv") == []
    assert read(b"", "x.csv") == []
