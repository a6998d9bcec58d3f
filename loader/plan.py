"""A dry run: how a file would be read and packed, with no AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shared.delivery.batches import Batcher
from shared.delivery.packing import to_entries
from shared.delivery.partition_keys import KeyFunction, field_key, record_id_key
from shared.delivery.routing import Routing, plan_batch
from shared.delivery.shards import ShardMap
from shared.domain.errors import ConfigError
from shared.domain.jobs import job_id_for
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Rejection
from shared.readers import ReadOptions, RecordStream, open_records
from shared.readers.detect import TEXT
from shared.readers.source import ByteCounter, file_chunks

ON_DEMAND_UNIT = 1024  # on-demand ingest is billed per KiB, rounded up per record
PAYLOAD_UNIT = 25 * 1024  # provisioned streams: PUT payload units of 25 KB


@dataclass(slots=True)
class PlanSummary:
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    requests: int = 0
    bytes: int = 0
    largest_request_bytes: int = 0
    largest_request_entries: int = 0
    format: str = ""
    compression: str | None = None
    bytes_read: int = 0
    limits: KinesisLimits = field(default_factory=KinesisLimits)
    routing: Routing = field(default_factory=Routing)
    shards: int = 1
    kinesis_records: int = 0  # records as the stream counts them: an aggregate is one
    kinesis_bytes: int = 0
    aggregates: int = 0  # Kinesis records holding more than one user record
    aggregated_records: int = 0  # user records inside them
    billable_kib: int = 0  # on-demand: KiB rounded up per Kinesis record
    payload_units: int = 0  # provisioned: 25 KB units per Kinesis record


class FilePlan:
    """Opens the file on creation (so format errors come first); `run` reads it through."""

    def __init__(
        self,
        path: Path,
        limits: KinesisLimits,
        fmt: str | None = None,
        key_field: str | None = None,
        job_id: str | None = None,
        routing: Routing | None = None,
        shards: int = 1,
    ) -> None:
        stat = path.stat()
        self.job_id = job_id or job_id_for(
            "file", str(path.resolve()), f"{stat.st_size}:{stat.st_mtime_ns}"
        )
        self.limits = limits
        self.routing = routing or Routing()
        self.shard_map = ShardMap.even(shards)
        self._file = path.open("rb")
        self._counter = ByteCounter()
        options = ReadOptions(
            max_record_bytes=limits.effective_record_bytes, format=fmt, keep_value=bool(key_field)
        )
        self.stream: RecordStream = open_records(
            file_chunks(self._file, self._counter), path.name, options
        )
        if key_field and self.stream.format == TEXT:
            raise ConfigError(
                "text records have no fields: a partition-key field does not apply to them"
            )
        self._key: KeyFunction = field_key(key_field) if key_field else record_id_key(self.job_id)

    def run(self, on_reject: Callable[[Rejection], None]) -> PlanSummary:
        limits = self.limits
        summary = PlanSummary(
            format=self.stream.format, compression=self.stream.compression, limits=limits,
            routing=self.routing, shards=len(self.shard_map),
        )  # fmt: skip
        batcher = Batcher.for_sender(limits, self.routing, len(self.shard_map))
        try:
            for batch in batcher.batches(self._entries(summary, on_reject)):
                self._count(batch, summary)
        finally:
            summary.bytes_read = self._counter.count
            self._file.close()
        return summary

    def _count(self, batch: list[Entry], summary: PlanSummary) -> None:
        """Requests as the sender would make them (its routing, lanes and aggregates) for the map."""
        for request in plan_batch(batch, self.shard_map, self.limits, self.routing).requests:
            summary.requests += 1
            size = sum(e.size for e in request)
            summary.largest_request_bytes = max(summary.largest_request_bytes, size)
            summary.largest_request_entries = max(summary.largest_request_entries, len(request))
            for unit in request:
                summary.kinesis_records += 1
                summary.kinesis_bytes += unit.size
                summary.billable_kib += -(-unit.size // ON_DEMAND_UNIT)
                summary.payload_units += -(-unit.size // PAYLOAD_UNIT)
                if unit.members:
                    summary.aggregates += 1
                    summary.aggregated_records += len(unit.members)

    def _entries(
        self, summary: PlanSummary, on_reject: Callable[[Rejection], None]
    ) -> Iterator[Entry]:
        """The accepted entries, counting everything read on the way."""
        for item in to_entries(self.stream, self._key, self.limits):
            summary.records += 1
            if isinstance(item, Rejection):
                summary.rejected += 1
                on_reject(item)
                continue
            summary.accepted += 1
            summary.bytes += item.size
            yield item
