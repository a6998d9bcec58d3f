"""Partition keys: the value at a configured field, else a stable per-record id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from shared.domain.errors import RecordError
from shared.domain.limits import MAX_PARTITION_KEY_CHARS
from shared.domain.models import Record
from shared.readers.jsonvalue import RawNumber, exact_value

PARTITION_KEY = "PartitionKey"


class PartitionKeyError(RecordError):
    """The record has no usable partition key (the message is the reason stored for it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(PARTITION_KEY, reason)


KeyFunction = Callable[[Record], str]


def record_id_key(job_id: str) -> KeyFunction:
    """`<job id>:<seq>`: unique per record, stable across resends (consumers can drop duplicates),
    and evenly spread, since Kinesis hashes the key with MD5."""
    prefix = f"{job_id}:"
    return lambda record: prefix + str(record.seq)


def field_key(path: str, max_chars: int = MAX_PARTITION_KEY_CHARS) -> KeyFunction:
    """The value at `path`: a column name for CSV, a dotted path into JSON (`user.id`, `items.0.sku`)."""
    steps = path.split(".")

    def key(record: Record) -> str:
        value = _lookup(record.value, path, steps)
        if _inexact(value):
            value = _lookup(exact_value(record.data), path, steps)
        text = _as_text(value, path)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise PartitionKeyError(
                    f"partition key field {path!r} is not valid Unicode (a lone surrogate)"
                ) from None
        if len(text) > max_chars:
            raise PartitionKeyError(
                f"partition key field {path!r} has {len(text)} characters; at most {max_chars} allowed"
            )
        return text

    return key


_MISSING = object()


def _lookup(value: Any, path: str, steps: list[str]) -> Any:
    if isinstance(value, dict) and path in value:
        return value[path]
    for step in steps:
        if isinstance(value, dict):
            value = value.get(step, _MISSING)
        elif (
            isinstance(value, list) and step.isascii() and step.isdigit() and int(step) < len(value)
        ):
            value = value[int(step)]
        else:
            return _MISSING
        if value is _MISSING:
            return value
    return value


def _inexact(value: Any) -> bool:
    """A number whose parsed form may not give back the file's text (`1.50`, `-0`, a huge int)."""
    return isinstance(value, float) or (
        value == 0 and isinstance(value, int) and value is not False
    )


def _as_text(value: Any, path: str) -> str:
    if value is _MISSING or value is None:
        raise PartitionKeyError(f"partition key field {path!r} is missing")
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, str):
        if not value:
            raise PartitionKeyError(f"partition key field {path!r} is empty")
        return value
    if isinstance(value, (dict, list)):
        raise PartitionKeyError(f"partition key field {path!r} is not a scalar")
    return orjson.dumps(value).decode()
