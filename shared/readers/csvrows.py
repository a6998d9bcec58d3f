"""CSV and TSV: the header row names the fields; each row goes out as a compact JSON object.

The csv module does the quoting (embedded delimiters, quotes and newlines). It is fed physical lines
by `_Feeder`, which knows where each row starts (line, byte offset), keeps rows bounded in memory and
notes invalid UTF-8, so one bad row is rejected and the rest are read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import orjson

from shared.errors import InputFileError
from shared.models import Cursor, Record, Rejection
from shared.readers.lines import Line, Oversized, iter_lines

Item = Record | Rejection
DELIMITERS = ",\t;|"


class _Feeder:
    """The iterator of text lines csv.reader pulls from, with per-row bookkeeping."""

    def __init__(self, lines: Iterator[Line], line: int, hold: int) -> None:
        self._lines = lines
        self._hold = hold
        self.next_line = line
        self.start_line = line
        self.start_offset = -1
        self.raw: list[bytes] = []
        self.size = 0
        self.too_big = 0
        self.bad_utf8: UnicodeDecodeError | None = None

    def begin_row(self) -> None:
        self.start_line, self.start_offset = self.next_line, -1
        self.raw, self.size, self.too_big, self.bad_utf8 = [], 0, 0, None

    def __iter__(self) -> _Feeder:
        return self

    def __next__(self) -> str:
        data, offset = next(self._lines)
        if self.start_offset < 0:
            self.start_offset = offset
            self.start_line = self.next_line
        self.next_line += 1
        if isinstance(data, Oversized):
            self.too_big = self.size = self.size + data.length + 1
            return '"\n' if data.odd_quotes else "\n"
        self.size += len(data) + 1
        if self.too_big or self.size > self._hold:
            # Stop holding this row; keep only its quote parity so the rows after it parse right.
            self.too_big, self.raw = self.size, []
            return '"\n' if data.count(b'"') % 2 else "\n"
        self.raw.append(data)
        try:
            return data.decode("utf-8") + "\n"
        except UnicodeDecodeError as exc:
            self.bad_utf8 = self.bad_utf8 or exc
            return data.decode("utf-8", "replace") + "\n"


def sniff_delimiter(sample: bytes, default: str = ",") -> str:
    """The delimiter of the header line: csv.Sniffer first, then the most frequent candidate."""
    text = sample.decode("utf-8", "replace")
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else default


def read_csv(
    chunks: Iterator[bytes], cursor: Cursor, hold: int, delimiter: str, state: dict[str, Any]
) -> Iterator[Item]:
    """Rows as records. `state` receives the header and delimiter, which resuming needs."""
    csv.field_size_limit(max(csv.field_size_limit(), 4 * hold))
    feeder = _Feeder(iter_lines(chunks, hold, cursor.offset), cursor.line, hold)
    reader = csv.reader(feeder, delimiter=cursor.state.get("delimiter", delimiter))
    header: list[str] | None = cursor.state.get("header")
    if header is None:
        header = _read_header(reader, feeder)
        if header is None:
            return
        state.update(header=header, delimiter=reader.dialect.delimiter)
    seq = cursor.seq
    while True:
        feeder.begin_row()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _reject(seq, feeder, f"malformed CSV row: {exc}", "MalformedCsv")
            seq += 1
            continue
        if feeder.too_big:
            yield Rejection(
                seq, feeder.start_line, feeder.start_offset,
                f"row is {feeder.too_big} bytes, over the {hold}-byte record limit; "
                "skipped without reading it",
                None, "Oversized",
            )  # fmt: skip
        elif not row:
            continue
        elif feeder.bad_utf8 is not None:
            reason = f"invalid UTF-8 at byte {feeder.bad_utf8.start} of line {feeder.start_line}"
            yield _reject(seq, feeder, reason, "InvalidUtf8")
        elif len(row) != len(header):
            reason = f"row has {_fields(len(row))}; the header has {_fields(len(header))}"
            yield _reject(seq, feeder, reason, "FieldCount")
        else:
            value: dict[str, Any] = dict(zip(header, row, strict=True))
            data = orjson.dumps(value)
            yield Record(seq, feeder.start_line, feeder.start_offset, data, value)
        seq += 1


def _reject(seq: int, feeder: _Feeder, reason: str, code: str) -> Rejection:
    raw = b"\n".join(feeder.raw) if feeder.raw else None
    return Rejection(seq, feeder.start_line, feeder.start_offset, reason, raw, code)


def _read_header(reader: Any, feeder: _Feeder) -> list[str] | None:
    for row in reader:
        if feeder.too_big:
            raise InputFileError(f"the CSV header on line {feeder.start_line} is too long")
        if feeder.bad_utf8 is not None:
            raise InputFileError(f"the CSV header on line {feeder.start_line} is not valid UTF-8")
        if not row:
            feeder.begin_row()
            continue
        duplicates = sorted({name for name in row if row.count(name) > 1})
        if duplicates:
            raise InputFileError(f"the CSV header repeats column names: {', '.join(duplicates)}")
        return list(row)
    return None


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"
