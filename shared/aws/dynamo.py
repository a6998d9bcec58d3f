"""DynamoDB helpers: attribute (de)serialisation and batch writes that finish their unprocessed items."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.domain.errors import LedgerError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH = 25


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _native(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def _native(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def batch_write(
    client: Any,
    table: str,
    requests: Sequence[dict[str, Any]],
    max_rounds: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """BatchWriteItem in groups of 25, resending UnprocessedItems with backoff. Returns writes made."""
    writes = 0
    for start in range(0, len(requests), BATCH):
        pending = list(requests[start : start + BATCH])
        for attempt in range(max_rounds):
            try:
                response = client.batch_write_item(RequestItems={table: pending})
            except ClientError as exc:
                raise LedgerError(
                    f"writing the ledger failed: {exc.response['Error']['Code']}"
                ) from exc
            writes += len(pending)
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            writes -= len(pending)
            sleep(random.random() * min(2.0, 0.05 * 2**attempt))
        else:
            raise LedgerError(
                f"{len(pending)} ledger writes stayed unprocessed after {max_rounds} rounds"
            )
    return writes


def query_page(
    client: Any, start: dict[str, Any] | None = None, **query: Any
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a Query, items and where the next one starts, both as plain values (the one
    paging helper of every adapter: a caller pages by passing back what it got)."""
    if start:
        query["ExclusiveStartKey"] = to_item(start)
    page = client.query(**query)
    last = page.get("LastEvaluatedKey")
    return [from_item(i) for i in page.get("Items", [])], (from_item(last) if last else None)
