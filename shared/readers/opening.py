"""Open a file's bytes as a stream of records, whatever its format and compression: the compression
and format found (or resumed from a cursor), then the reader of that format behind one boundary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import InputFileError
from shared.domain.failures import classify
from shared.domain.models import Cursor, Record, Rejection
from shared.readers.csvrows import read_csv, sniff_delimiter
from shared.readers.detect import BOM, CSV, JSON, JSONL, TEXT, TSV, resolve_format
from shared.readers.jsonarray import JsonArrayReader
from shared.readers.jsonlines import read_json_lines, read_text
from shared.readers.source import (
    MAGIC_BYTES,
    Peekable,
    compression_of,
    decompressed,
    skip_bytes,
)

SNIFF_BYTES = 64 * 1024
Item = Record | Rejection


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read: `max_record_bytes` bounds what is held per record; `keep_value` keeps parsed values."""

    max_record_bytes: int
    format: str | None = None
    keep_value: bool = False


class RecordStream:
    """The records of one file. `state` is what a cursor must carry to resume after a record."""

    def __init__(
        self, items: Iterator[Item], fmt: str, compression: str | None, state: dict[str, Any]
    ):
        self._items = items
        self.format = fmt
        self.compression = compression
        self.state = state

    def __iter__(self) -> Iterator[Item]:
        return self._items


class ReaderError(InputFileError):
    """A reader met something it did not expect: the file fails with what and where."""


def _guarded(items: Iterator[Item], fmt: str) -> Iterator[Item]:
    """The readers' boundary: records and rejections pass; a file error or an infrastructure error
    (reading the object) passes as it is; any other exception fails the file with a clear message."""
    try:
        yield from items
    except InputFileError:
        raise
    except Exception as exc:
        if classify(exc).retriable:
            raise
        raise ReaderError(
            f"the {fmt} reader failed: {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc


def open_records(
    chunks: Iterator[bytes],
    name: str,
    options: ReadOptions,
    cursor: Cursor | None = None,
    positioned: bool = False,
) -> RecordStream:
    """Records from the raw bytes of an object (compressed or not).

    To resume, pass the cursor of a checkpoint: its state names the format and compression. With
    `positioned`, `chunks` already start at the cursor's offset (a ranged read of a plain object);
    otherwise the content is read from the start and skipped up to it. Whatever the bytes, only
    records, rejections, `InputFileError` or an infrastructure error come out.
    """
    try:
        stream = _open(chunks, name, options, cursor or Cursor(), positioned)
    except InputFileError:
        raise
    except Exception as exc:
        if classify(exc).retriable:
            raise
        raise ReaderError(f"the file could not be opened: {type(exc).__name__}: {exc}") from exc
    return stream


def _open(
    chunks: Iterator[bytes], name: str, options: ReadOptions, cursor: Cursor, positioned: bool
) -> RecordStream:
    state: dict[str, Any] = dict(cursor.state)
    if positioned and cursor.offset:
        if state.get("compression"):
            raise InputFileError("a compressed object cannot be read from a byte offset")
        return _reader(chunks, state["format"], cursor, options, state, state.get("compression"))
    raw = Peekable(chunks)
    compression = state.get("compression") or compression_of(raw.peek(MAGIC_BYTES))
    content = Peekable(decompressed(iter(raw), compression))
    fmt = state.get("format") or resolve_format(options.format, name, content.peek(SNIFF_BYTES))
    state.update(format=fmt, compression=compression)
    if fmt in (CSV, TSV) and "delimiter" not in state:
        state["delimiter"] = "\t" if fmt == TSV else sniff_delimiter(_first_lines(content))
    body: Iterator[bytes] = iter(content)
    if cursor.offset:
        body = skip_bytes(body, cursor.offset)
    elif content.peek(3) == BOM:
        body = skip_bytes(body, 3)
        cursor = Cursor(3, cursor.seq, cursor.line, cursor.state)
    return _reader(body, fmt, cursor, options, state, compression)


def _first_lines(content: Peekable) -> bytes:
    head = content.peek(SNIFF_BYTES).removeprefix(BOM)
    cut = head.rfind(b"\n")
    return head[:cut] if cut > 0 else head


def _reader(
    body: Iterator[bytes],
    fmt: str,
    cursor: Cursor,
    options: ReadOptions,
    state: dict[str, Any],
    compression: str | None,
) -> RecordStream:
    hold = options.max_record_bytes
    items: Iterator[Item]
    if fmt == JSONL:
        items = read_json_lines(body, cursor, hold, options.keep_value)
    elif fmt == TEXT:
        items = read_text(body, cursor, hold)
    elif fmt in (CSV, TSV):
        items = read_csv(body, cursor, hold, state["delimiter"], state)
    elif fmt == JSON:
        # Pretty-printed elements shrink when compacted: hold twice the record size before giving up.
        items = iter(JsonArrayReader(body, cursor, 2 * hold, options.keep_value, state))
    else:
        raise InputFileError(f"no reader for format {fmt!r}")
    return RecordStream(_guarded(items, fmt), fmt, compression, state)
