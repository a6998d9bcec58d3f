"""Dead-letter queues, settled: a function consumes its own queue's dead-letter queue and ends the job
of each message there, so no message the queue gave up on (every delivery of it killed or failed)
leaves its job unfinished. The message stays in the dead-letter queue for inspection: it is reported
back as not handled, and the dead-letter queue's long visibility timeout brings it round again only
rarely (each later visit finds the job ended and does nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.observability import logger


def from_dead_letters(records: list[dict[str, Any]], arns: tuple[str, ...]) -> bool:
    """Whether a batch comes from a dead-letter queue this function settles."""
    return bool(records) and all(r.get("eventSourceARN") in arns for r in records)


def settle(
    records: list[dict[str, Any]], settle_one: Callable[[str, object], None]
) -> dict[str, list[dict[str, str]]]:
    """Settle each message's job (`settle_one(body, receive count)`); every message is kept."""
    for record in records:
        receives = record.get("attributes", {}).get("ApproximateReceiveCount")
        try:
            settle_one(record["body"], receives)
        except Exception as exc:  # it comes round again after the visibility timeout
            logger.warning(
                "dead letter not settled yet",
                extra={"message_id": record.get("messageId"), "reason": str(exc)},
            )
        else:
            logger.info("dead letter settled", extra={"message_id": record.get("messageId")})
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
