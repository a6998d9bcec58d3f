"""CSV and TSV: the header row names the fields; each row goes out as a compact JSON object.

The csv module (strict) does the quoting: embedded delimiters, doubled quotes, newlines inside quoted
fields. It is fed physical lines by `_Feeder`, which knows where each row starts (line, byte offset),
holds a row's lines only up to the record limit and notes invalid UTF-8.

No row may swallow the rows after it. A row whose quoting is broken (a quote closed and followed by
text, a quote never closed before the file ends, or one still open past the record limit) is rejected
at its first line, and reading resumes at the line after it: the lines the broken row had taken are
read again as rows of their own. A row that parses but has the wrong number of fields is rejected
whole, since its quoting says where it ends.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import orjson

from shared.domain.errors import InputFileError
from shared.domain.models import Cursor, Record, Rejection
from shared.readers.lines import Line, Oversized, iter_lines

Item = Record | Rejection
DELIMITERS = ",\t;|"
MALFORMED_CSV, FIELD_COUNT, OVERSIZED, INVALID_UTF8 = (
    "MalformedCsv",
    "FieldCount",
    "Oversized",
    "InvalidUtf8",
)

Taken = tuple[bytes | Oversized, int, int]
"""A physical line as a row took it: (the line or an Oversized marker, byte offset, line number)."""


class _QuoteNotClosedError(Exception):
    """The row's quoted field is still open past the record limit."""


class _Feeder:
    """The iterator of text lines csv.reader pulls from: one row's lines, kept for a rollback."""

    def __init__(self, lines: Iterator[Line], line: int, hold: int) -> None:
        self._lines = lines
        self._hold = hold
        self._back: list[Taken] = []  # lines to read again, the next one last
        self._next_line = line
        self.taken: list[Taken] = []
        self.size = 0
        self.bad_utf8: UnicodeDecodeError | None = None

    def begin_row(self) -> None:
        self.taken, self.size, self.bad_utf8 = [], 0, None

    def roll_back(self) -> Taken:
        """Give the row's first line up and put the rest back to be read again."""
        first, rest = self.taken[0], self.taken[1:]
        self._back.extend(reversed(rest))
        return first

    def __iter__(self) -> _Feeder:
        return self

    def __next__(self) -> str:
        if self.size > self._hold:
            raise _QuoteNotClosedError
        if self._back:
            taken = self._back.pop()
        else:
            data, offset = next(self._lines)
            taken = (data, offset, self._next_line)
            self._next_line += 1
        self.taken.append(taken)
        data = taken[0]
        if isinstance(data, Oversized):
            self.size += data.length + 1
            return '"\n' if data.odd_quotes else "\n"
        self.size += len(data) + 1
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
    reader = csv.reader(feeder, delimiter=cursor.state.get("delimiter", delimiter), strict=True)
    header: list[str] | None = cursor.state.get("header")
    if header is None:
        header = _read_header(reader, feeder, hold)
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
        except (csv.Error, _QuoteNotClosedError) as exc:
            yield _broken(seq, feeder, exc, hold)
            seq += 1
            continue
        if not row and feeder.size <= hold:
            continue  # a blank line (an oversized line is fed to csv as an empty one)
        yield _row(seq, feeder, row, header, hold)
        seq += 1


def _row(seq: int, feeder: _Feeder, row: list[str], header: list[str], hold: int) -> Item:
    """A row whose quoting holds: a record, or a rejection of the whole row."""
    if feeder.size > hold:
        reason = (
            f"row is {feeder.size} bytes, over the {hold}-byte record limit; "
            "skipped without reading it"
        )
        return _reject(seq, feeder.taken, reason, OVERSIZED, keep=False)
    if feeder.bad_utf8 is not None:
        line = feeder.taken[0][2]
        reason = f"invalid UTF-8 at byte {feeder.bad_utf8.start} of line {line}"
        return _reject(seq, feeder.taken, reason, INVALID_UTF8)
    if len(row) != len(header):
        reason = f"row has {_fields(len(row))}; the header has {_fields(len(header))}"
        return _reject(seq, feeder.taken, reason, FIELD_COUNT)
    value: dict[str, Any] = dict(zip(header, row, strict=True))
    _, offset, line = feeder.taken[0]
    return Record(seq, line, offset, orjson.dumps(value), value)


def _broken(seq: int, feeder: _Feeder, exc: Exception, hold: int) -> Rejection:
    """A row whose quoting is broken: its first line is rejected and the rest read again."""
    first = feeder.roll_back()
    data, _, line = first
    if isinstance(data, Oversized):
        reason = f"line is {data.length} bytes, over the {hold}-byte record limit; skipped"
        return _reject(seq, [first], reason, OVERSIZED, keep=False)
    if isinstance(exc, _QuoteNotClosedError):
        reason = f"the quoted field opened on line {line} is not closed within the {hold}-byte record limit"
    elif "unexpected end of data" in str(exc):
        reason = f"the quoted field opened on line {line} is never closed (the file ends inside it)"
    else:
        reason = f"malformed CSV row on line {line}: {exc}"
    return _reject(seq, [first], reason, MALFORMED_CSV)


def _reject(seq: int, taken: list[Taken], reason: str, code: str, keep: bool = True) -> Rejection:
    _, offset, line = taken[0]
    lines = [data for data, _, _ in taken]
    raw = None
    if keep and not any(isinstance(data, Oversized) for data in lines):
        raw = b"\n".join(lines)  # type: ignore[arg-type]
    return Rejection(seq, line, offset, reason, raw, code)


def _read_header(reader: Any, feeder: _Feeder, hold: int) -> list[str] | None:
    while True:
        feeder.begin_row()
        try:
            row = next(reader)
        except StopIteration:
            return None
        except _QuoteNotClosedError:
            raise InputFileError(
                f"the CSV header on line {feeder.taken[0][2]} opens a quote it does not close "
                f"within {hold} bytes"
            ) from None
        except csv.Error as exc:
            raise InputFileError(
                f"the CSV header on line {feeder.taken[0][2]} is malformed: {exc}"
            ) from None
        if not row:
            continue
        line = feeder.taken[0][2]
        if feeder.size > hold:
            raise InputFileError(f"the CSV header on line {line} is too long")
        if feeder.bad_utf8 is not None:
            raise InputFileError(f"the CSV header on line {line} is not valid UTF-8")
        duplicates = sorted({name for name in row if row.count(name) > 1})
        if duplicates:
            raise InputFileError(f"the CSV header repeats column names: {', '.join(duplicates)}")
        return list(row)


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"
