"""The records table as the services need it: items for the records that need attention, and their
moves with the job's counters. Implemented for DynamoDB beside it (`dynamodb.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.domain.jobs import LedgerItem
from shared.domain.models import Fence, Transition


class RecordLedger(Protocol):
    """The records table: items for the records that need attention."""

    def put(self, items: Sequence[LedgerItem], fence: Fence | None = None) -> None:
        """Write (or overwrite) items; with a fence, only while it holds (`LeaseLostError` if not)."""
        ...

    def delete_from(
        self, job_id: str, seq: int, until: int | None = None, fence: Fence | None = None
    ) -> int:
        """Remove the items of records at or past `seq` (and before `until`); with a fence, only
        while it holds (`LeaseLostError` if not: an owner whose lease ran out clears nothing)."""
        ...

    def get(self, job_id: str, seq: int) -> LedgerItem | None: ...

    def by_status(
        self, job_id: str, status: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]: ...

    def page(
        self, job_id: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]: ...


class LedgerMoves(Protocol):
    """Record transitions and the job's counters moved together (a transaction)."""

    def apply(self, job_id: str, moves: list[Transition]) -> list[Transition]: ...
