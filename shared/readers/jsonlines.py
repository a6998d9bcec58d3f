"""JSON Lines and plain text: one record per line, sent as the line's exact bytes (CR/LF removed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson

from shared.domain.errors import RecordError
from shared.domain.models import Cursor, Record, Rejection
from shared.readers.jsonvalue import MAX_DEPTH, decode_utf8, parse_json
from shared.readers.lines import Oversized, iter_lines

Item = Record | Rejection


def oversized_line(seq: int, line: int, offset: int, length: int, hold: int) -> Rejection:
    reason = (
        f"line is {length} bytes, over the {hold}-byte record limit; skipped without reading it"
    )
    return Rejection(seq, line, offset, reason, None, "Oversized")


def _line_records(
    chunks: Iterator[bytes],
    cursor: Cursor,
    hold: int,
    is_blank: Callable[[bytes], bool],
    make: Callable[[int, int, int, bytes], Item],
) -> Iterator[Item]:
    """One record per non-blank line; a line over `hold` is rejected without being read."""
    seq, line = cursor.seq, cursor.line
    for data, offset in iter_lines(chunks, hold, cursor.offset):
        if isinstance(data, Oversized):
            yield oversized_line(seq, line, offset, data.length, hold)
        else:
            if data[-1:] == b"\r":
                data = data[:-1]
            if is_blank(data):
                line += 1
                continue
            yield make(seq, line, offset, data)
        seq += 1
        line += 1


def is_blank_json(data: bytes) -> bool:
    """Empty, or only the whitespace JSON allows (a form feed is not blank: it is bad JSON)."""
    return not data or (data[0] in b" \t\r" and not data.strip(b" \t\r"))


def read_json_lines(
    chunks: Iterator[bytes], cursor: Cursor, hold: int, keep_value: bool
) -> Iterator[Item]:
    loads, deep = orjson.loads, 2 * MAX_DEPTH

    def make(seq: int, line: int, offset: int, data: bytes) -> Item:
        # A line too short to nest too deep is decided by orjson alone, inline: most lines.
        if len(data) <= deep:
            try:
                value = loads(data)
            except orjson.JSONDecodeError:
                pass
            else:
                return Record(seq, line, offset, data, value if keep_value else None)
        try:
            value = parse_json(data)
        except RecordError as exc:
            return Rejection(seq, line, offset, exc.reason, data, exc.code)
        return Record(seq, line, offset, data, value if keep_value else None)

    return _line_records(chunks, cursor, hold, is_blank_json, make)


def is_blank_text(data: bytes) -> bool:
    return not data


def read_text(chunks: Iterator[bytes], cursor: Cursor, hold: int) -> Iterator[Item]:
    def make(seq: int, line: int, offset: int, data: bytes) -> Item:
        try:
            decode_utf8(data)
        except RecordError as exc:
            return Rejection(seq, line, offset, exc.reason, data, exc.code)
        return Record(seq, line, offset, data)

    return _line_records(chunks, cursor, hold, is_blank_text, make)
