"""Counting a byte range of a JSON Lines or text object: where its first line starts, how many lines
start in it and how many of those are records, by the very rules the readers use (`jsonlines.py`)."""

from __future__ import annotations

from collections.abc import Iterator

from shared.domain.ranges import RangeCount
from shared.readers.detect import BOM, JSONL
from shared.readers.jsonlines import is_blank_json, is_blank_text
from shared.readers.lines import Oversized, iter_lines
from shared.readers.source import Peekable, skip_bytes


def read_from(start: int) -> int:
    """Where a range's bytes must be read from: one byte early, to see whether a line starts at `start`."""
    return max(0, start - 1)


def count_range(chunks: Iterator[bytes], start: int, end: int, hold: int, fmt: str) -> RangeCount:
    """Count the lines that start in [start, end); `chunks` are the object's bytes from `read_from(start)`
    to its end (reading stops once a line starts at or past `end`)."""
    blank = is_blank_json if fmt == JSONL else is_blank_text
    if start == 0:
        head = Peekable(chunks)
        first = len(BOM) if head.peek(len(BOM)) == BOM else 0
        rest = skip_bytes(iter(head), first)
    else:
        first, rest = _after_newline(chunks, start - 1)
        if first >= end:
            return RangeCount(first, first, 0, 0)
    consumed = [0]
    lines = records = 0
    for data, offset in iter_lines(_counted(rest, consumed), hold, first):
        if offset >= end and offset > first:  # the first range keeps its first line (after a BOM)
            return RangeCount(first, offset, lines, records)
        lines += 1
        if isinstance(data, Oversized):
            records += 1
        else:
            if data[-1:] == b"\r":
                data = data[:-1]
            records += not blank(data)
    return RangeCount(first, first + consumed[0], lines, records)


def _after_newline(chunks: Iterator[bytes], position: int) -> tuple[int, Iterator[bytes]]:
    """The offset just past the first newline at or after `position` (where `chunks` begin), and the
    bytes from there; the object's end when there is none."""
    for chunk in chunks:
        at = chunk.find(b"\n")
        if at >= 0:
            return position + at + 1, _prepend(chunk[at + 1 :], chunks)
        position += len(chunk)
    return position, iter(())


def _prepend(piece: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if piece:
        yield piece
    yield from chunks


def _counted(chunks: Iterator[bytes], consumed: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        consumed[0] += len(chunk)
        yield chunk
