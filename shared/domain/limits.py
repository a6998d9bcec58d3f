"""Kinesis limits, in one place. Sizes are counted as Kinesis counts them: data bytes + key UTF-8 bytes."""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB

MAX_ENTRIES_PER_REQUEST = 500
MAX_PARTITION_KEY_CHARS = 256
DEFAULT_REQUEST_BYTES = 5 * MIB
MAX_REQUEST_BYTES = 10 * MIB
DEFAULT_RECORD_KIB = 1024
MIN_RECORD_KIB = 1024
MAX_RECORD_KIB = 10240


@dataclass(frozen=True, slots=True)
class KinesisLimits:
    """What one PutRecords request and one record may hold."""

    max_record_bytes: int = DEFAULT_RECORD_KIB * KIB
    max_request_bytes: int = DEFAULT_REQUEST_BYTES
    max_entries: int = MAX_ENTRIES_PER_REQUEST
    max_key_chars: int = MAX_PARTITION_KEY_CHARS

    def __post_init__(self) -> None:
        if not 1 <= self.max_entries <= MAX_ENTRIES_PER_REQUEST:
            raise ValueError(f"max_entries must be 1..{MAX_ENTRIES_PER_REQUEST}")
        if not 1 <= self.max_request_bytes <= MAX_REQUEST_BYTES:
            raise ValueError(f"the request cap must be 1..{MAX_REQUEST_BYTES} bytes")
        if not 1 <= self.max_record_bytes <= MAX_RECORD_KIB * KIB:
            raise ValueError(f"the record cap must be 1..{MAX_RECORD_KIB * KIB} bytes")

    @classmethod
    def from_kib(
        cls, record_kib: int | None = None, request_kib: int | None = None
    ) -> KinesisLimits:
        """Limits from the KiB figures users and DescribeStreamSummary speak in (None = default)."""
        record_kib = DEFAULT_RECORD_KIB if record_kib is None else record_kib
        if not MIN_RECORD_KIB <= record_kib <= MAX_RECORD_KIB:
            raise ValueError(f"max record size must be {MIN_RECORD_KIB}..{MAX_RECORD_KIB} KiB")
        request_bytes = DEFAULT_REQUEST_BYTES if request_kib is None else request_kib * KIB
        return cls(max_record_bytes=record_kib * KIB, max_request_bytes=request_bytes)

    @property
    def effective_record_bytes(self) -> int:
        """A record must also fit in a request on its own."""
        return min(self.max_record_bytes, self.max_request_bytes)
