"""Parsing one JSON record: fast with orjson, exact where orjson is not, bounded in depth.

orjson is strict where JSON is not (it refuses `1e400` and lone surrogate escapes such as `"\\ud800"`,
which RFC 8259's grammar allows and Python's `json` reads) and reads integers past 64 bits as floats.
So a record orjson refuses is read again by `json`, and a number used as a partition key is taken as
the text the file holds, never through a float. Nesting is capped at `MAX_DEPTH` by a scanner that
does not recurse, so no parser ever recurses deeper than that, on any Python.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from shared.domain.errors import RecordError

MAX_DEPTH = 512
NESTING_TOO_DEEP = "NestingTooDeep"
MALFORMED_JSON = "MalformedJson"
INVALID_UTF8 = "InvalidUtf8"

_BRACKETS = re.compile(rb'[][{}"\\]')


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class RawNumber(str):
    """A number as the file wrote it."""


DECODER = json.JSONDecoder(parse_constant=_not_json_constant)
_EXACT_DECODER = json.JSONDecoder(
    parse_constant=_not_json_constant, parse_int=RawNumber, parse_float=RawNumber
)


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects, outside strings, without recursion."""
    depth = deepest = 0
    in_string = False
    pos = 0
    for m in _BRACKETS.finditer(data):
        i = m.start()
        if i < pos:  # the byte after a backslash
            continue
        c = data[i]
        if c == 0x5C:
            pos = i + 2
        elif c == 0x22:
            in_string = not in_string
        elif in_string:
            continue
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_depth(data: bytes) -> None:
    """Raise `RecordError` when `data` nests deeper than MAX_DEPTH (cheap for short records)."""
    if len(data) > 2 * MAX_DEPTH and data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        depth = nesting_depth(data)
        if depth > MAX_DEPTH:
            raise RecordError(
                NESTING_TOO_DEEP, f"JSON nested {depth} levels deep; at most {MAX_DEPTH} allowed"
            )


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(INVALID_UTF8, f"invalid UTF-8 at byte {exc.start} of the record") from exc


def parse_json(data: bytes) -> Any:
    """The value of one JSON text, or `RecordError` saying why it is not one."""
    check_depth(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as fast:
        text = decode_utf8(data)
        try:
            return DECODER.decode(text)
        except (ValueError, RecursionError):
            raise RecordError(MALFORMED_JSON, f"malformed JSON: {fast}") from None


def exact_value(data: bytes) -> Any:
    """The value with every number kept as the `RawNumber` text the file holds."""
    check_depth(data)
    try:
        return _EXACT_DECODER.decode(decode_utf8(data))
    except (ValueError, RecursionError) as exc:
        raise RecordError(MALFORMED_JSON, f"malformed JSON: {exc}") from None
