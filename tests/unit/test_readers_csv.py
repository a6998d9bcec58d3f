"""CSV/TSV: header row, sniffed delimiter, quoting, bad rows rejected."""

import orjson
import pytest

from shared.domain.errors import InputFileError
from shared.domain.models import Rejection
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


def test_an_oversized_single_line_row_is_skipped_and_the_next_row_parses():
    big = b'"' + b"x" * 5000 + b'"'
    items = read(b"a,b\n" + big + b",1\n2,3\n", "x.csv", max_record=1024, chunk=64)
    first, second = items
    assert isinstance(first, Rejection) and first.code == "Oversized" and first.line == 2
    assert objects([second]) == [{"a": "2", "b": "3"}] and second.line == 3


def test_a_quote_open_past_the_record_limit_swallows_no_rows():
    # GIVEN a quote opened on line 2 and never closed, then ~2 KiB of good rows, with a 1 KiB limit
    good = b"".join(b"%d,v\n" % i for i in range(400))
    items = read(b'a,b\n1,"open\n' + good, "x.csv", max_record=1024, chunk=64)
    # THEN line 2 alone is rejected and every row after it is read
    [bad] = rejections(items)
    assert (bad.line, bad.code, bad.raw) == (2, "MalformedCsv", b'1,"open')
    assert "not closed within the 1024-byte record limit" in bad.reason
    assert objects(items) == [{"a": str(i), "b": "v"} for i in range(400)]


@pytest.mark.parametrize("chunk", [1, 4, 1 << 20])
def test_an_unterminated_quote_rejects_its_line_and_reading_resumes_at_the_next(chunk):
    items = read(b'id,name\n1,"unclosed\n2,b\n3,c\n', "x.csv", chunk=chunk)
    [bad] = rejections(items)
    assert (bad.seq, bad.line, bad.code, bad.raw) == (0, 2, "MalformedCsv", b'1,"unclosed')
    assert [(i.seq, i.line) for i in items] == [(0, 2), (1, 3), (2, 4)]
    assert objects(items) == [{"id": "2", "name": "b"}, {"id": "3", "name": "c"}]


def test_text_after_a_closing_quote_is_malformed_not_glued_on():
    items = read(b'id,name\n1,"a"x\n2,b\n', "x.csv")
    [bad] = rejections(items)
    assert (bad.line, bad.code) == (2, "MalformedCsv") and "expected after" in bad.reason
    assert objects(items) == [{"id": "2", "name": "b"}]


def test_a_broken_multi_line_row_gives_its_other_lines_back():
    # line 2 opens a quote that line 3 closes and then breaks; line 3 is read again on its own
    items = read(b'id,name\n1,"a\nb"x,c,d\n4,d\n', "x.csv")
    assert [(r.line, r.code) for r in rejections(items)] == [(2, "MalformedCsv"), (3, "FieldCount")]
    assert objects(items) == [{"id": "4", "name": "d"}]


def test_a_malformed_header_fails_the_file():
    with pytest.raises(InputFileError, match="header on line 1 is malformed"):
        read(b'a,"b"c\n1,2\n', "x.csv")


def test_duplicate_header_names_fail_the_file():
    with pytest.raises(InputFileError, match="repeats column names: a"):
        read(b"a,b,a\n1,2,3\n", "x.csv")


def test_header_only_and_empty_files_have_no_records():
    assert read(b"a,b\n", "x.csv") == []
    assert read(b"", "x.csv") == []
