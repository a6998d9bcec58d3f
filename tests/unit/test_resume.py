"""A checkpoint cursor (offset, seq, line, state) resumes reading exactly where it left off."""

import gzip

import pytest

from shared.domain.models import Cursor
from shared.readers import ReadOptions, open_records
from tests.helpers import chunked, stream

FILES = {
    "x.jsonl": b'\xef\xbb\xbf{"a":1}\r\n\nbad\n{"b":"\xc3\xa9"}\n{"c":3}',
    "x.txt": b"one\n\ntwo\n\xff\nthree\n",
    "x.csv": b'id,note\n1,"multi\nline"\n2,x\n3\n4,"y"\n',
    "x.json": b'[ {"a": 1},\n {"b": tru},\n "s", 5 ]',
}


def resumed(data: bytes, name: str, cursor: Cursor, positioned: bool):
    options = ReadOptions(max_record_bytes=1 << 20)
    chunks = chunked(data[cursor.offset :] if positioned else data, 5)
    return list(open_records(chunks, name, options, cursor, positioned=positioned))


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("positioned", [False, True])
def test_resuming_at_any_record_yields_the_rest(name, positioned):
    data = FILES[name]
    s = stream(data, name)
    items = list(s)
    assert len(items) >= 3
    for k, item in enumerate(items):
        cursor = Cursor(item.offset, item.seq, item.line, dict(s.state))
        assert resumed(data, name, cursor, positioned) == items[k:], (name, k)


def test_resuming_a_compressed_file_skips_to_the_offset():
    plain = b"".join(b'{"i":%d}\n' % i for i in range(1000))
    s = stream(gzip.compress(plain), "x.jsonl.gz")
    items = list(s)
    cursor = Cursor(items[700].offset, 700, 701, dict(s.state))
    assert resumed(gzip.compress(plain), "x.jsonl.gz", cursor, positioned=False) == items[700:]
