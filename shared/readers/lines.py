"""Physical lines from a chunk stream, in bounded memory.

A line longer than `max_len` is never held whole: it comes out as an `Oversized` marker carrying its
length (and, for CSV, whether it held an odd number of quotes, so the CSV state survives the skip).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Oversized:
    length: int
    odd_quotes: bool


Line = tuple[bytes | Oversized, int]
"""(the line without its "\\n" or an Oversized marker, the byte offset where it starts)."""


def iter_lines(chunks: Iterator[bytes], max_len: int, offset: int = 0) -> Iterator[Line]:
    """Split on b"\\n". Offsets count from `offset`, the position of the first chunk's first byte."""
    parts: list[bytes] = []  # pieces of the line being assembled across chunks
    held = 0
    big: Oversized | None = None
    start = offset
    for chunk in chunks:
        pieces = chunk.split(b"\n")
        last = pieces.pop()
        for piece in pieces:
            if big is not None:
                big.length += len(piece)
                big.odd_quotes ^= piece.count(b'"') % 2 == 1
                yield big, start
                start += big.length + 1
                big = None
            elif parts:
                if held + len(piece) > max_len:
                    line = _oversized(parts, held, piece)
                    yield line, start
                    start += line.length + 1
                else:
                    parts.append(piece)
                    whole = b"".join(parts)
                    yield whole, start
                    start += len(whole) + 1
                parts, held = [], 0
            else:
                if len(piece) > max_len:
                    line = _oversized([], 0, piece)
                    yield line, start
                    start += line.length + 1
                else:
                    yield piece, start
                    start += len(piece) + 1
        if last:
            if big is not None:
                big.length += len(last)
                big.odd_quotes ^= last.count(b'"') % 2 == 1
            elif held + len(last) > max_len:
                big = _oversized(parts, held, last)
                parts, held = [], 0
            else:
                parts.append(last)
                held += len(last)
    if big is not None:
        yield big, start
    elif parts:
        yield b"".join(parts), start


def _oversized(parts: list[bytes], held: int, piece: bytes) -> Oversized:
    quotes = sum(p.count(b'"') for p in parts) + piece.count(b'"')
    return Oversized(held + len(piece), quotes % 2 == 1)
