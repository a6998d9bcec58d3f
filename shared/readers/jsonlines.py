"""JSON Lines and plain text: one record per line, sent as the line's exact bytes (CR/LF removed)."""

from __future__ import annotations

from collections.abc import Iterator

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


def read_json_lines(
    chunks: Iterator[bytes], cursor: Cursor, hold: int, keep_value: bool
) -> Iterator[Item]:
    seq, line = cursor.seq, cursor.line
    loads = orjson.loads
    for data, offset in iter_lines(chunks, hold, cursor.offset):
        if isinstance(data, Oversized):
            yield oversized_line(seq, line, offset, data.length, hold)
            seq += 1
            line += 1
            continue
        if data[-1:] == b"\r":
            data = data[:-1]
        if not data or data.isspace():
            line += 1
            continue
        try:
            value = loads(data)
        except orjson.JSONDecodeError as exc:
            yield _malformed(seq, line, offset, data, exc)
        else:
            yield Record(seq, line, offset, data, value if keep_value else None)
        seq += 1
        line += 1


def _malformed(seq: int, line: int, offset: int, data: bytes, exc: ValueError) -> Rejection:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return invalid_utf8(seq, line, offset, data, bad)
    return Rejection(seq, line, offset, f"malformed JSON: {exc}", data, "MalformedJson")


def read_text(chunks: Iterator[bytes], cursor: Cursor, hold: int) -> Iterator[Item]:
    seq, line = cursor.seq, cursor.line
    for data, offset in iter_lines(chunks, hold, cursor.offset):
        if isinstance(data, Oversized):
            yield oversized_line(seq, line, offset, data.length, hold)
            seq += 1
            line += 1
            continue
        if data[-1:] == b"\r":
            data = data[:-1]
        if not data:
            line += 1
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield invalid_utf8(seq, line, offset, data, exc)
        else:
            yield Record(seq, line, offset, data)
        seq += 1
        line += 1
