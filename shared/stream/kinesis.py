"""The boto3 adapter for a Kinesis stream: PutRecords and the stream's limits, errors as our own."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared.delivery.outcomes import EntryResult
from shared.delivery.shards import ShardMap
from shared.domain.errors import StreamFatalError, StreamRetriableError
from shared.domain.limits import DEFAULT_RECORD_KIB, KinesisLimits
from shared.domain.models import Entry

# Call-level codes worth repeating; everything else with a 4xx status is fatal.
_RETRIABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "KMSThrottlingException",
    "InternalFailure", "InternalFailureException", "InternalServerError", "ServiceUnavailable",
    "ServiceUnavailableException", "LimitExceededException", "RequestTimeout",
})  # fmt: skip
_AMBIGUOUS = (ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError)
_LIMITS_TTL_S = 300.0
_limits_cache: dict[tuple[str, str], tuple[float, int]] = {}
_limits_lock = threading.Lock()
_MAP_TTL_S = 60.0
_map_cache: dict[tuple[str, str], tuple[float, ShardMap]] = {}


def stream_target(stream: str) -> dict[str, str]:
    """PutRecords and DescribeStreamSummary take a name or an ARN."""
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


def translate(exc: ClientError) -> StreamRetriableError | StreamFatalError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", str(exc))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    if code in _RETRIABLE_CODES or status >= 500:
        return StreamRetriableError(code, message)
    return StreamFatalError(code, message)


class KinesisStream:
    """One stream, through a boto3 Kinesis client (passed in, so moto and hooks apply)."""

    def __init__(self, client: Any, stream: str) -> None:
        self._client = client
        self.stream = stream
        self._target = stream_target(stream)

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        records: list[dict[str, Any]] = []
        for e in entries:
            record: dict[str, Any] = {"Data": e.data, "PartitionKey": e.partition_key}
            if e.explicit_hash_key is not None:
                record["ExplicitHashKey"] = e.explicit_hash_key
            records.append(record)
        try:
            response = self._client.put_records(Records=records, **self._target)
        except ClientError as exc:
            raise translate(exc) from exc
        except _AMBIGUOUS as exc:
            raise StreamRetriableError(type(exc).__name__, str(exc)) from exc
        return [
            EntryResult(
                r.get("ShardId"), r.get("SequenceNumber"), r.get("ErrorCode"), r.get("ErrorMessage")
            )
            for r in response["Records"]
        ]

    def max_record_kib(self) -> int:
        """The stream's MaxRecordSizeInKiB (absent, as on moto or older streams: 1024), cached.

        DescribeStreamSummary is limited to 20 calls/s per account, so it is read once per stream
        and process for a few minutes, however many invocations share the process.
        """
        key = (getattr(self._client.meta, "region_name", "") or "", self.stream)
        now = time.monotonic()
        with _limits_lock:
            cached = _limits_cache.get(key)
            if cached and now - cached[0] < _LIMITS_TTL_S:
                return cached[1]
        try:
            summary = self._client.describe_stream_summary(**self._target)[
                "StreamDescriptionSummary"
            ]
        except ClientError as exc:
            raise translate(exc) from exc
        kib = int(summary.get("MaxRecordSizeInKiB") or DEFAULT_RECORD_KIB)
        with _limits_lock:
            _limits_cache[key] = (now, kib)
        return kib

    def limits(self, request_kib: int | None = None) -> KinesisLimits:
        return KinesisLimits.from_kib(self.max_record_kib(), request_kib)

    def shard_map(self, refresh: bool = False) -> ShardMap:
        """The stream's open shards from ListShards, shared by the process's senders for a minute
        (`refresh` reads them again: the sender asks when results show the stream resharded)."""
        key = (getattr(self._client.meta, "region_name", "") or "", self.stream)
        now = time.monotonic()
        with _limits_lock:
            cached = _map_cache.get(key)
            if cached and not refresh and now - cached[0] < _MAP_TTL_S:
                return cached[1]
        shards: list[dict[str, Any]] = []
        params: dict[str, Any] = dict(self._target)
        try:
            while True:
                page = self._client.list_shards(**params)
                shards += page.get("Shards", [])
                token = page.get("NextToken")
                if not token:
                    break
                params = {"NextToken": token}  # ListShards takes the token without the stream
        except ClientError as exc:
            raise translate(exc) from exc
        except _AMBIGUOUS as exc:
            raise StreamRetriableError(type(exc).__name__, str(exc)) from exc
        shard_map = ShardMap.from_list_shards(shards)
        with _limits_lock:
            _map_cache[key] = (now, shard_map)
        return shard_map


def clear_limits_cache() -> None:
    with _limits_lock:
        _limits_cache.clear()
        _map_cache.clear()
