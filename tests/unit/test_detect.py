import pytest

from shared.domain.errors import UnknownFormatError
from shared.readers.detect import format_from_name, normalize_format, resolve_format, sniff_format


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.json", "json"),
        ("a.CSV", "csv"),
        ("a.tsv.bz2", "tsv"),
        ("a.txt", "text"),
        ("a.log.zst", "text"),
        ("a", None),
        ("a.parquet", None),
    ],
)
def test_format_from_the_name(name, fmt):
    assert format_from_name(name) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"  [1,2]", "json"),
        (b'\xef\xbb\xbf{"a":1}\n', "jsonl"),
        (b"a,b\n1,2\n3,4\n", "csv"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b"hello world\nbye\n", "text"),
        (b"", "text"),
    ],
)
def test_format_sniffed_from_the_content(head, fmt):
    assert sniff_format(head) == fmt


def test_binary_content_is_an_unknown_format():
    with pytest.raises(UnknownFormatError, match="binary"):
        sniff_format(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(UnknownFormatError, match="not UTF-8"):
        sniff_format(b"\xff\xfe\xfa garbage " * 10)


def test_option_wins_and_unknown_options_are_refused():
    assert resolve_format("ndjson", "a.csv", b"") == "jsonl"
    assert resolve_format("json", "a.jsonl", b'{"a":1}\n') == "json"
    with pytest.raises(UnknownFormatError, match="unknown format 'xml'"):
        normalize_format("xml")


PRETTY = b'{\n  "a": 1,\n  "b": {"c": [1,\n 2]}\n}\n'
LINES = b'{"a": 1}\n{"a": 2}\n{"a": 3'


@pytest.mark.parametrize(
    ("name", "head", "fmt"),
    [
        ("a.json", LINES, "jsonl"),
        ("a.json", PRETTY, "json"),
        ("a", LINES, "jsonl"),
        ("a", PRETTY, "json"),
        ("a.json", b'{"broken": \n{"a": 2}\n', "jsonl"),
        ("a.json", b'{"a": 1}', "jsonl"),
        ("a.json", b"  [1]", "json"),
    ],
)
def test_only_a_guess_tells_json_lines_from_a_pretty_printed_document(name, head, fmt):
    assert resolve_format(None, name, head) == fmt


def test_an_explicit_format_is_obeyed_whatever_the_content():
    assert resolve_format("json", "a.json", LINES) == "json"
    assert resolve_format("jsonl", "a.json", PRETTY) == "jsonl"
