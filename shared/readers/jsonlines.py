"""JSON Lines and plain text: one record per line, sent as the line's exact bytes (CR/LF removed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson

from shared.models import Cursor, Record, Rejection
from shared.readers.lines import Oversized, iter_lines

Item = Record | Rejection


def oversized_line(seq: int, line: int, offset: int, length: int, hold: int) -> Rejection:
    reason = (
        f"line is {length} bytes, over the {hold}-byte record limit; skipped without reading it"
    )
    return Rejection(seq, line, offset, reason, None, "Oversized")


def invalid_utf8(
    seq: int, line: int, offset: int, data: bytes, exc: UnicodeDecodeError
) -> Rejection:
    reason = f"invalid UTF-8 at byte {exc.start} of the record"
    return Rejection(seq, line, offset, reason, data, "InvalidUtf8")


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


def read_json_lines(
    chunks: Iterator[bytes], cursor: Cursor, hold: int, keep_value: bool
) -> Iterator[Item]:
    loads = orjson.loads

    def make(seq: int, line: int, offset: int, data: bytes) -> Item:
        try:
            value = loads(data)
        except orjson.JSONDecodeError as exc:
            return _malformed(seq, line, offset, data, exc)
        return Record(seq, line, offset, data, value if keep_value else None)

    return _line_records(chunks, cursor, hold, lambda data: not data or data.isspace(), make)


def _malformed(seq: int, line: int, offset: int, data: bytes, exc: ValueError) -> Rejection:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return invalid_utf8(seq, line, offset, data, bad)
    return Rejection(seq, line, offset, f"malformed JSON: {exc}", data, "MalformedJson")


def read_text(chunks: Iterator[bytes], cursor: Cursor, hold: int) -> Iterator[Item]:
    def make(seq: int, line: int, offset: int, data: bytes) -> Item:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return invalid_utf8(seq, line, offset, data, exc)
        return Record(seq, line, offset, data)

    return _line_records(chunks, cursor, hold, lambda data: not data, make)
