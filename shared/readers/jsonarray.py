"""A JSON array streamed element by element; each element goes out as compact JSON.

Element boundaries come from the C scanner of `json.JSONDecoder.raw_decode`, run on a Latin-1 view of
the bytes so that character positions are byte positions. The buffer holds at most `hold` bytes ahead
(plus a read chunk); an element larger than that is skipped by a bracket/string scanner without being
held. Compaction removes only the whitespace outside strings, so numbers and escapes stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shared.domain.errors import CorruptInputError, InputFileError, RecordError
from shared.domain.models import Cursor, Record, Rejection
from shared.readers.jsonvalue import (
    DECODER,
    MAX_DEPTH,
    NESTING_TOO_DEEP,
    check_depth,
    decode_utf8,
    nesting_depth,
    parse_json,
)

Item = Record | Rejection
AT_ELEMENT = "element"  # resume state: the cursor's offset is the start of an element

_NON_WS = re.compile(rb"[^ \t\r\n]")
_WS = re.compile(rb"[ \t\r\n]")
_STRING = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*")', re.S)
_TOKEN = re.compile(rb'[][{}"]')
_STRING_END = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\] \t\r\n]")
_COMMA, _CLOSE, _OPEN = ord(","), ord("]"), ord("[")


def compact(raw: bytes) -> bytes:
    """Remove the whitespace outside strings."""
    if not _WS.search(raw):
        return raw
    parts = _STRING.split(raw)
    parts[::2] = [part.translate(None, b" \t\r\n") for part in parts[::2]]
    return b"".join(parts)


class _Scan:
    """Resumable state of the element-end scanner (depth, inside a string, escape pending)."""

    __slots__ = ("depth", "escape", "in_string", "scalar")

    def __init__(self, first: int) -> None:
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.scalar = first not in b'{["'

    def run(self, buf: bytes, i: int) -> int | None:
        """The index just past the element's end, or None when `buf` ends first."""
        n = len(buf)
        if self.escape:
            i, self.escape = i + 1, False
        while i < n:
            if self.in_string:
                m = _STRING_END.search(buf, i)
                if m is None:
                    return None
                i = m.end()
                if buf[i - 1] == 0x5C:  # a backslash: skip the escaped byte
                    if i >= n:
                        self.escape = True
                        return None
                    i += 1
                    continue
                self.in_string = False
                if self.depth == 0:
                    return i
            elif self.scalar:
                m = _SCALAR_END.search(buf, i)
                return None if m is None else m.start()
            else:
                m = _TOKEN.search(buf, i)
                if m is None:
                    return None
                c, i = buf[m.start()], m.end()
                if c == 0x22:
                    self.in_string = True
                elif c in b"{[":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth <= 0:
                        return i
        return None


class JsonArrayReader:
    def __init__(
        self,
        chunks: Iterator[bytes],
        cursor: Cursor,
        hold: int,
        keep_value: bool,
        state: dict[str, Any],
    ) -> None:
        """`state` carries the resume position in and out (the stream's state dict, shared)."""
        self._chunks = chunks
        self._hold = hold
        self._keep_value = keep_value
        self._cursor = cursor
        self._buf = b""
        self._text: str | None = None
        self._pos = 0
        self._base = cursor.offset  # absolute offset of _buf[0]
        self._eof = False
        self._line = cursor.line  # line number at _buf[_line_pos]
        self._line_pos = 0
        self.state = state

    # -- buffer ---------------------------------------------------------------
    def _fill(self, ahead: int) -> None:
        if len(self._buf) - self._pos >= ahead or self._eof:
            return
        self._line += self._buf.count(b"\n", self._line_pos, self._pos)
        pieces, have = [self._buf[self._pos :]], len(self._buf) - self._pos
        while have < ahead + (1 << 20):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                break
            pieces.append(chunk)
            have += len(chunk)
        self._base += self._pos
        self._buf, self._pos, self._line_pos, self._text = b"".join(pieces), 0, 0, None

    def _peek(self) -> int | None:
        """The next non-whitespace byte (left at _pos), or None at the end of the file."""
        while True:
            m = _NON_WS.search(self._buf, self._pos)
            if m is not None:
                self._pos = m.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if self._eof:
                return None
            self._fill(1)

    def _where(self, i: int) -> tuple[int, int]:
        """(line, absolute offset) of buffer index i (i must not go backwards)."""
        self._line += self._buf.count(b"\n", self._line_pos, i)
        self._line_pos = i
        return self._line, self._base + i

    # -- structure ------------------------------------------------------------
    def __iter__(self) -> Iterator[Item]:
        seq = self._cursor.seq
        if self.state.get("json") != AT_ELEMENT:
            c = self._peek()
            if c is None:
                return
            if c != _OPEN:
                raise self._not_an_array(c)
            self._pos += 1
            if self._peek() == _CLOSE:
                self._pos += 1
                self._expect_end()
                return
            self.state["json"] = AT_ELEMENT
        while True:
            if self._peek() is None:
                raise self._unclosed()
            yield self._element(seq)
            seq += 1
            c = self._peek()
            if c == _COMMA:
                self._pos += 1
                if self._peek() in (_CLOSE, None):
                    raise CorruptInputError(f"a ',' is followed by no element at byte {self._at()}")
            elif c == _CLOSE:
                self._pos += 1
                self._expect_end()
                return
            elif c is None:
                raise self._unclosed()
            else:
                line, offset = self._where(self._pos)
                raise CorruptInputError(f"expected ',' or ']' at line {line}, byte {offset}")

    def _not_an_array(self, first: int) -> InputFileError:
        what = "a JSON object" if first == ord("{") else f"{bytes([first])!r} where '[' belongs"
        return InputFileError(
            f"not a JSON array: the file holds {what} at byte {self._at()}; format json reads "
            "an array of records (for one JSON object per line, use format jsonl)"
        )

    def _at(self) -> int:
        return self._base + self._pos

    def _unclosed(self) -> CorruptInputError:
        return CorruptInputError(
            f"the JSON array is not closed: the file ends at byte {self._at()}"
        )

    def _expect_end(self) -> None:
        if self._peek() is not None:
            raise CorruptInputError(f"unexpected data after the closing ']' at byte {self._at()}")

    # -- one element ----------------------------------------------------------
    def _element(self, seq: int) -> Item:
        self._fill(self._hold)
        start = self._pos
        line, offset = self._where(start)
        if self._text is None:
            self._text = self._buf.decode("latin-1")
        try:
            end = DECODER.raw_decode(self._text, start)[1]
        except RecursionError:
            return self._bad_element(seq, line, offset, None)
        except ValueError as exc:
            return self._bad_element(seq, line, offset, exc)
        raw = self._buf[start:end]
        self._pos = end
        try:
            check_depth(raw)
            decode_utf8(raw)
            data = compact(raw)
            value = parse_json(data) if self._keep_value else None
        except RecordError as exc:
            return Rejection(seq, line, offset, exc.reason, raw, exc.code)
        return Record(seq, line, offset, data, value)

    def _bad_element(self, seq: int, line: int, offset: int, exc: ValueError | None) -> Item:
        """An element the decoder refused (`exc`) or could not finish (None: too deep for it)."""
        start = self._pos
        scan = _Scan(self._buf[start])
        end = scan.run(self._buf, start)
        if end is not None:
            self._pos = end
            raw = self._buf[start:end]
            if exc is None:
                depth = nesting_depth(raw)
                reason = f"JSON nested {depth} levels deep; at most {MAX_DEPTH} allowed"
                if depth <= MAX_DEPTH:  # the decoder's own recursion budget ran out first
                    reason = f"JSON nested {depth} levels deep, too deep for the decoder"
                return Rejection(seq, line, offset, reason, raw, NESTING_TOO_DEEP)
            reason = f"malformed JSON: {getattr(exc, 'msg', exc)}"
            return Rejection(seq, line, offset, reason, raw, "MalformedJson")
        if self._eof:
            raise CorruptInputError(
                f"the JSON array ends inside the element that starts at line {line}, byte {offset}"
            )
        length = self._skip(scan)
        reason = f"element is {length} bytes, over the {self._hold}-byte limit; skipped without reading it"
        return Rejection(seq, line, offset, reason, None, "Oversized")

    def _skip(self, scan: _Scan) -> int:
        """Stream past an element too big to hold; returns its length."""
        start_abs = self._base + self._pos
        self._line += self._buf.count(b"\n", self._line_pos)
        for chunk in self._chunks:
            self._base += len(self._buf)
            self._buf, self._pos, self._line_pos, self._text = chunk, 0, 0, None
            end = scan.run(chunk, 0)
            if end is not None:
                self._line += chunk.count(b"\n", 0, end)
                self._pos = self._line_pos = end
                return self._base + end - start_abs
            self._line += chunk.count(b"\n")
        self._eof = True
        raise CorruptInputError(
            f"the JSON array ends inside the element that starts at byte {start_abs}"
        )
