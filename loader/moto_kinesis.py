"""moto's Kinesis, made faithful to the limits Kinesis enforces (moto is not used in production).

moto accepts what Kinesis refuses: it never throttles, and it neither knows a stream's
`MaxRecordSizeInKiB` nor checks partition keys. With these patches, a stream in the tests and in the
local stack:

- takes per shard at most 1,000 records and 1 MiB (data plus partition key) in each second of the
  clock; the entries of a `PutRecords` request over that fail one by one with
  `ProvisionedThroughputExceededException`, as Kinesis reports it, and the rest are written; a
  `PutRecord` over it fails whole. `RULES.rates = False` (`loader local --no-limits`) lifts the rates;
- refuses a request of more than 500 entries or over the request cap (10 MiB, as Kinesis documents
  today), a record over the stream's `MaxRecordSizeInKiB` (set at CreateStream or by
  UpdateMaxRecordSize, reported by DescribeStreamSummary; 1024 when unset), and a partition key
  that is not 1 to 256 characters, each with the error Kinesis answers;
- keeps, per shard, the last two minutes of what it took and throttled, a second a row (`rates_of`).

It also fixes two of moto's costs: `Shard.put_record` is not safe under concurrent PutRecords calls
(two records can get one sequence number, and one is lost) and finds the last sequence number by
listing the shard, so it slows as a shard fills; and the generic response serializer costs ~50 µs an
entry, where the PutRecords answer is plain JSON written directly.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from loader.stream_rates import RULES, state_of, take
from shared.domain.limits import (
    KIB,
    MAX_ENTRIES_PER_REQUEST,
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORD_KIB,
    MIB,
    MIN_RECORD_KIB,
)

THROTTLED = "ProvisionedThroughputExceededException"


def _data_bytes(b64: str) -> int:
    """The size of base64 text once decoded, without decoding it."""
    return (
        len(b64) * 3 // 4 - (len(b64) >= 2 and b64[-1] == "=") - (len(b64) >= 2 and b64[-2] == "=")
    )


def _throttle_message(stream: Any, shard_id: str) -> str:
    return (
        f"Rate exceeded for shard {shard_id} in stream {stream.stream_name} "
        f"under account {stream.account_id}."
    )


def _validation(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationException", f"1 validation error detected: {message}")


def _check_request(stream: Any, records: list[dict[str, Any]]) -> list[int]:
    """Refuse the whole request as Kinesis does; else each entry's size (data + key bytes)."""
    from moto.core.exceptions import JsonRESTError

    if not records:
        raise _validation(
            "Value '[]' at 'records' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if len(records) > MAX_ENTRIES_PER_REQUEST:
        raise _validation(
            "Value at 'records' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES_PER_REQUEST}"
        )
    cap = state_of(stream).max_record_kib * KIB
    sizes = []
    for n, record in enumerate(records, start=1):
        sizes.append(_check_record(record, cap, f"records.{n}.member."))
    if sum(sizes) > RULES.request_bytes:
        raise JsonRESTError(
            "InvalidArgumentException",
            f"Records size exceeds {RULES.request_bytes // MIB} MB limit",
        )
    return sizes


def _check_record(record: dict[str, Any], cap: int, where: str) -> int:
    key = record.get("PartitionKey") or ""
    if not 1 <= len(key) <= MAX_PARTITION_KEY_CHARS:
        bound = "greater than or equal to 1" if not key else "less than or equal to 256"
        raise _validation(
            f"Value at '{where}partitionKey' failed to satisfy constraint: Member must have length {bound}"
        )
    size = _data_bytes(record.get("Data") or "") + len(key.encode("utf-8"))
    if size > cap:
        raise _validation(
            f"Value at '{where}data' failed to satisfy constraint: "
            f"Member must have length less than or equal to {cap}"
        )
    return size


def put_records(
    self: Any, stream_arn: str, stream_name: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """KinesisBackend.put_records, with Kinesis's checks and per-shard rates."""
    stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
    sizes = _check_request(stream, records)
    state = state_of(stream)
    results: list[dict[str, Any]] = []
    failed = taken_bytes = 0
    for record, size in zip(records, sizes, strict=True):
        key, hash_key, data = (
            record.get("PartitionKey"),
            record.get("ExplicitHashKey"),
            record.get("Data"),
        )
        shard = stream.get_shard_for_key(key, hash_key)
        with state.lock:
            taken = take(state, shard.shard_id, size, int(RULES.clock()))
        if not taken:
            failed += 1
            results.append(
                {"ErrorCode": THROTTLED, "ErrorMessage": _throttle_message(stream, shard.shard_id)}
            )
            continue
        sequence_number = shard.put_record(key, data, hash_key)
        taken_bytes += size
        results.append({"SequenceNumber": sequence_number, "ShardId": shard.shard_id})
    self._send_stream_metrics(
        stream.stream_name, incoming_bytes=taken_bytes, incoming_records=len(records) - failed
    )
    return {"FailedRecordCount": failed, "Records": results}


def apply(lock: threading.Lock) -> None:
    """Patch moto's Kinesis model and responses (once; `lock` held by the caller)."""
    from moto.kinesis import models, responses

    shard_locks: dict[int, threading.Lock] = {}
    put_record_of_stream = models.Stream.put_record

    def shard_put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        with lock:
            shard_lock = shard_locks.setdefault(id(self), threading.Lock())
        with shard_lock:
            last = getattr(self, "_loader_last_seq", None)
            if last is None:
                last = next(reversed(self.records), 0) if self.records else 0
            sequence_number = last + 1
            self.records[sequence_number] = models.Record(
                partition_key, data, sequence_number, explicit_hash_key
            )
            self._loader_last_seq = sequence_number
            return str(sequence_number)

    def stream_put_record(
        self: Any, partition_key: str, explicit_hash_key: str, data: str
    ) -> tuple[str, str]:
        from moto.core.exceptions import JsonRESTError

        size = _check_record({"PartitionKey": partition_key, "Data": data},
                             state_of(self).max_record_kib * KIB, "")  # fmt: skip
        shard = self.get_shard_for_key(partition_key, explicit_hash_key)
        state = state_of(self)
        with state.lock:
            taken = take(state, shard.shard_id, size, int(RULES.clock()))
        if not taken:
            raise JsonRESTError(THROTTLED, _throttle_message(self, shard.shard_id))
        return put_record_of_stream(self, partition_key, explicit_hash_key, data)

    summary_of_stream = models.Stream.to_json_summary

    def to_json_summary(self: Any) -> dict[str, Any]:
        summary: dict[str, Any] = summary_of_stream(self)
        summary["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] = state_of(self).max_record_kib
        return summary

    def create_stream(self: Any) -> Any:
        from moto.core.responses import EmptyResult

        kib = self._get_param("MaxRecordSizeInKiB")
        _check_kib(kib)
        stream = self.kinesis_backend.create_stream(
            self._get_param("StreamName"), self._get_param("ShardCount"),
            stream_mode=self._get_param("StreamModeDetails"),
        )  # fmt: skip
        if kib is not None:
            state_of(stream).max_record_kib = int(kib)
        return EmptyResult()

    def update_max_record_size(self: Any) -> Any:
        from moto.core.responses import EmptyResult

        kib = self._get_param("MaxRecordSizeInKiB")
        _check_kib(kib, required=True)
        stream = self.kinesis_backend.describe_stream(self._get_param("StreamARN"), None)
        state_of(stream).max_record_kib = int(kib)
        return EmptyResult()

    def put_records_response(self: Any) -> str:
        result = self.kinesis_backend.put_records(
            self._get_param("StreamARN"), self._get_param("StreamName"), self._get_param("Records")
        )
        return json.dumps(result)

    models.Shard.put_record = shard_put_record  # type: ignore[method-assign]
    models.Stream.put_record = stream_put_record  # type: ignore[method-assign]
    models.Stream.to_json_summary = to_json_summary  # type: ignore[method-assign]
    models.KinesisBackend.put_records = put_records  # type: ignore[method-assign]
    responses.KinesisResponse.create_stream = create_stream  # type: ignore[method-assign]
    responses.KinesisResponse.update_max_record_size = update_max_record_size  # type: ignore[attr-defined]
    responses.KinesisResponse.put_records = put_records_response  # type: ignore[method-assign,assignment]


def _check_kib(kib: Any, required: bool = False) -> None:
    if kib is None and not required:
        return
    if not isinstance(kib, int) or not MIN_RECORD_KIB <= kib <= MAX_RECORD_KIB:
        raise _validation(
            f"Value '{kib}' at 'maxRecordSizeInKiB' failed to satisfy constraint: "
            f"Member must have value between {MIN_RECORD_KIB} and {MAX_RECORD_KIB}"
        )
