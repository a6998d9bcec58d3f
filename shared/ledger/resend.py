"""Records kept in the ledger, sent again: the retry service's rounds, and an ingest continuation
that sends a per-key job's failed records before anything newer. Both build entries and moves here."""

from __future__ import annotations

from typing import Any

from shared.delivery.outcomes import Failed, Sent
from shared.domain.errors import PAYLOAD_MISSING, RecordError
from shared.domain.jobs import LedgerItem, RecordStatus
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Transition
from shared.objects.port import ObjectStore


def entry_of(item: LedgerItem, objects: ObjectStore, bucket: str, limits: KinesisLimits) -> Entry:
    """The ledger item as an entry to resend; `RecordError` when it cannot be one."""
    if item.payload is not None:
        data = item.payload
    elif item.payload_key is not None:
        data = objects.read(bucket, item.payload_key)
    else:
        raise RecordError(PAYLOAD_MISSING, "the payload was not kept (too large to hold)")
    key = item.partition_key
    if not key:
        raise RecordError("PartitionKey", "the ledger item has no partition key")
    size = len(data) + len(key.encode("utf-8"))
    if size > limits.effective_record_bytes:
        raise RecordError(
            "Oversized",
            f"{size} bytes, over the stream's {limits.effective_record_bytes}-byte limit",
        )
    return Entry(item.seq, item.line, item.offset, data, key, size)


def move(item: LedgerItem, now: str, **values: Any) -> Transition:
    values.setdefault("retries", item.retries + 1)
    return Transition(item.seq, item.status, item.updated_at, {"updated_at": now, **values})


def sent_move(item: LedgerItem, sent: Sent, now: str, *, retry: bool = True) -> Transition:
    """The record went through: `sent`, recovered (a retry round counts among its retries)."""
    extra = {} if retry else {"retries": item.retries}
    return move(
        item, now, status=RecordStatus.SENT, recovered=True, shard_id=sent.shard_id,
        sequence_number=sent.sequence_number, attempts=item.attempts + sent.attempts,
        recovered_at=now, **extra,
    )  # fmt: skip


def still_failed_move(item: LedgerItem, failed: Failed, now: str) -> Transition:
    """Sent again outside a retry round and failed again: still `failed`, its attempts counted."""
    return move(
        item, now, status=RecordStatus.FAILED, retries=item.retries, attempts=item.attempts + failed.attempts,
        error_code=failed.error_code, error_message=failed.error_message,
    )  # fmt: skip


def failed_move(item: LedgerItem, failed: Failed, now: str, max_retries: int) -> Transition:
    """Sent again in a retry round and failed again: one more retry spent, `dead` once they run out."""
    retries = item.retries + 1
    status = RecordStatus.DEAD if retries >= max_retries else RecordStatus.FAILED
    return move(
        item, now, status=status, retries=retries, attempts=item.attempts + failed.attempts,
        error_code=failed.error_code, error_message=failed.error_message,
    )  # fmt: skip
