"""A dry run: how a file would be read and packed, with no AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigError
from shared.jobs import job_id_for
from shared.limits import KinesisLimits
from shared.models import Entry, Rejection
from shared.packing import pack, to_entries
from shared.partition_keys import KeyFunction, field_key, record_id_key
from shared.readers import ReadOptions, RecordStream, open_records
from shared.readers.detect import TEXT
from shared.readers.source import ByteCounter, file_chunks


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


class FilePlan:
    """Opens the file on creation (so format errors come first); `run` reads it through."""

    def __init__(
        self,
        path: Path,
        limits: KinesisLimits,
        fmt: str | None = None,
        key_field: str | None = None,
        job_id: str | None = None,
    ) -> None:
        stat = path.stat()
        self.job_id = job_id or job_id_for(
            "file", str(path.resolve()), f"{stat.st_size}:{stat.st_mtime_ns}"
        )
        self.limits = limits
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
            format=self.stream.format, compression=self.stream.compression, limits=limits
        )
        try:
            for request in pack(self._entries(summary, on_reject), limits):
                summary.requests += 1
                size = sum(e.size for e in request)
                summary.largest_request_bytes = max(summary.largest_request_bytes, size)
                summary.largest_request_entries = max(summary.largest_request_entries, len(request))
        finally:
            summary.bytes_read = self._counter.count
            self._file.close()
        return summary

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
