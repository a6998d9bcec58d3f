"""The stream as the services need it: `PutRecords` and the shard map (the sender's `StreamPort`), and
the stream's limits. Implemented for Kinesis beside it (`kinesis.py`)."""

from __future__ import annotations

from typing import Protocol

from shared.delivery.outcomes import StreamPort
from shared.domain.limits import KinesisLimits


class Stream(StreamPort, Protocol):
    def limits(self, request_kib: int | None = None) -> KinesisLimits: ...
