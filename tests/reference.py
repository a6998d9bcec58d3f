"""Reference readers: slow, whole-file, built on Python's `json` and strict `csv` only.

The fuzz tests hold the streaming readers to these. Each gives, in file order, what every record
of a file must become: ("record", line, value-or-bytes) or ("rejected", line).
"""

from __future__ import annotations

import csv
import json
from typing import Any

MAX_DEPTH = 512  # the readers' documented cap on JSON nesting


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def json_value(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is one JSON text nested at most MAX_DEPTH deep, else (False, None)."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False, None
    return depth(value) <= MAX_DEPTH, value


def depth(value: Any) -> int:
    """Nesting depth of a parsed value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def physical_lines(data: bytes) -> list[bytes]:
    """The lines a line reader sees: a UTF-8 BOM skipped, split on \\n; nothing after a final \\n."""
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def json_lines(data: bytes) -> list[tuple]:
    out: list[tuple] = []
    for number, line in enumerate(physical_lines(data), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(b" \t\r"):
            continue
        try:
            ok, _ = json_value(line.decode("utf-8"))
        except UnicodeDecodeError:
            ok = False
        out.append(("record", number, line) if ok else ("rejected", number))
    return out


def text_lines(data: bytes) -> list[tuple]:
    out: list[tuple] = []
    for number, line in enumerate(physical_lines(data), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            out.append(("rejected", number))
            continue
        out.append(("record", number, line))
    return out


class FileFailed(Exception):
    """The reference says the file as a whole cannot be read."""


def csv_rows(text: str, delimiter: str = ",") -> list[tuple]:
    """Strict csv, row by row: a row whose quoting breaks is rejected at its first line and reading
    resumes at the next line; a row that parses with the wrong field count is rejected whole."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header: list[str] | None = None
    out: list[tuple] = []
    i = 0
    while i < len(lines):
        taken = [0]

        def feed(start: int = i, count: list[int] = taken) -> Any:
            for line in lines[start:]:
                count[0] += 1
                yield line + "\n"

        reader = csv.reader(feed(), delimiter=delimiter, strict=True)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise FileFailed(str(exc)) from exc
            out.append(("rejected", i + 1))
            i += 1
            continue
        if row == []:
            i += taken[0]
            continue
        if header is None:
            if len(set(row)) != len(row):
                raise FileFailed("the header repeats column names")
            header = row
        elif len(row) != len(header):
            out.append(("rejected", i + 1))
        else:
            out.append(("record", i + 1, dict(zip(header, row, strict=True))))
        i += taken[0]
    return out
