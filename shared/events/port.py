"""Job status changes as the services publish them. Implemented for EventBridge beside it
(`eventbridge.py`)."""

from __future__ import annotations

from typing import Protocol

from shared.domain.jobs import Job


class JobEventSink(Protocol):
    def changed(self, job: Job, status: str, previous: str | None) -> None: ...

    def flush(self) -> None: ...
