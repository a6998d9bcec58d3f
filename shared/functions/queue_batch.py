"""A queue-fed function's batch, as both functions take it: from their own queue, each message through
Powertools' batch processor (the ingest's with its own plan); from their dead-letter queue, settled.

Dead-letter queues, settled: a function consumes its own queue's dead-letter queue and ends the job
of each message there, so no message the queue gave up on (every delivery of it killed or failed)
leaves its job unfinished. The message stays in the dead-letter queue for inspection: it is reported
back as not handled, and the dead-letter queue's long visibility timeout brings it round again only
rarely (each later visit finds the job ended and does nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BasePartialBatchProcessor,
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.functions.observability import logger


def handle_queue_batch(
    event: dict[str, Any],
    context: Any,
    *,
    dead_letter_arns: tuple[str, ...],
    settle_one: Callable[[str, object], None],
    record_handler: Callable[..., Any],
    processor: BasePartialBatchProcessor | None = None,
) -> PartialItemFailureResponse:
    """One invocation's batch (`context`: its Lambda context): a dead-letter queue's settled (`settle_one(body, receive count)`),
    else each message through `processor` (a fresh one per invocation: its state is the batch's)."""
    records = event.get("Records", [])
    if from_dead_letters(records, dead_letter_arns):
        return settle(records, settle_one)  # type: ignore[return-value]
    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor or BatchProcessor(event_type=EventType.SQS),
        context=context,
    )


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
