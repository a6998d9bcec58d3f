"""Cutting one object into ranges: every line in exactly one range, and each range read alone gives the
very records (seq, line, offset, bytes) the whole file gives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.domain.models import Cursor, Record, Rejection
from shared.domain.ranges import FanOut, cut
from shared.readers import ReadOptions, open_records
from shared.readers.detect import BOM, JSONL, TEXT
from shared.readers.ranges import count_range, read_from
from shared.readers.source import MAGIC_BYTES, compression_of

HOLD = 40


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def items(data: bytes, fmt: str, cursor: Cursor | None = None, positioned: bool = False):
    options = ReadOptions(max_record_bytes=HOLD, format=fmt)
    out = []
    for item in open_records(chunked(data, 7), "x", options, cursor, positioned):
        if isinstance(item, Record):
            out.append(("record", item.seq, item.line, item.offset, item.data))
        else:
            assert isinstance(item, Rejection)
            out.append(("rejected", item.seq, item.line, item.offset, item.code))
    return out


line = st.one_of(
    st.just(b""), st.just(b"  \t"), st.just(b"\r"), st.just(b'{"a": 1}'), st.just(b"[1,\r"),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    st.integers(0, 100).map(lambda n: b"x" * n),
)  # fmt: skip
files = st.builds(
    lambda bom, lines, tail: (BOM if bom else b"") + b"\n".join(lines) + (b"\n" if tail else b""),
    st.booleans(), st.lists(line, max_size=25), st.booleans(),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(files, st.sampled_from([JSONL, TEXT]), st.lists(st.integers(0, 10_000), max_size=5))
def test_ranges_read_alone_give_the_whole_files_records(data, fmt, cuts):
    assume(compression_of(data[:MAGIC_BYTES]) is None)  # a compressed object is never cut
    size = len(data)
    starts = [*sorted({0, *(c % (size + 1) for c in cuts)}), size]
    starts = [s for i, s in enumerate(starts) if i == 0 or s > starts[i - 1]]
    if starts[-1] != size or len(starts) < 2:
        starts = [0, size]
    fan = FanOut(starts, fmt, HOLD)
    for i in range(fan.ranges):
        start, end = starts[i], starts[i + 1]
        fan.counts[i] = count_range(chunked(data[read_from(start) :], 5), start, end, HOLD, fmt)
    for i in range(fan.ranges - 1):
        assert fan.counts[i].end == fan.counts[i + 1].first
    whole = items(data, fmt)
    seen = []
    for i in range(fan.ranges):
        c = fan.counts[i]
        seq, line = fan.base(i)
        state = {"format": fmt, "compression": None}
        part = data[c.first : c.end]
        got = (
            items(part, fmt, Cursor(c.first, seq, line, state), positioned=c.first > 0)
            if c.first
            else items(part, fmt)
        )
        assert len(got) == c.records
        seen += got
    assert seen == whole
    assert fan.base(fan.ranges)[0] == len(whole)
    if fan.ranges > 1:  # a cut always makes two or more
        assert fan.bounds(fan.ranges - 1) == (fan.counts[fan.ranges - 1].first, size)


def test_a_cut_is_made_only_for_objects_big_enough():
    assert cut(10 << 20, 0, 8) is None
    assert cut(10 << 20, 64 << 20, 8) is None
    assert cut(100 << 20, 64 << 20, 1) is None
    assert cut(100 << 20, 64 << 20, 8) == [0, (100 << 20) // 3, (200 << 20) // 3, 100 << 20]
    assert cut(100 << 20, 64 << 20, 2) == [0, 50 << 20, 100 << 20]
    small = cut(200 << 10, 10 << 10, 8)  # never under 64 KiB a range
    assert (
        small is not None
        and len(small) == 4
        and min(b - a for a, b in itertools.pairwise(small)) >= 64 << 10
    )
    starts = cut(1 << 30, 64 << 20, 8)
    assert starts is not None and len(starts) == 9 and starts[-1] == 1 << 30
