"""Retry Lambda: retry-queue messages -> a job's failed records resent from the ledger."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.dead_letters import from_dead_letters, settle
from shared.observability import log_job, logger, metrics, tracer
from shared.retry.messages import parse_retry
from shared.retry.service import RetryService
from shared.retry.wiring import retry_service


@tracer.capture_method
def record_handler(
    record: SQSRecord, lambda_context: LambdaContext, service: RetryService | None = None
) -> None:
    log_job(None)  # the previous message's job is not this one's
    service = service or retry_service()
    final = service.config.last_delivery(record.attributes.approximate_receive_count)
    report = service.handle(parse_retry(record.body), lambda_context, final)
    logger.info("retry handled", extra={"outcome": report.outcome, "notes": report.notes})
    metrics.add_metric(name="RecordsRecovered", unit=MetricUnit.Count, value=report.recovered)
    metrics.add_metric(name="RecordsStillFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="RecordsDead", unit=MetricUnit.Count, value=report.dead)
    if report.outcome == "failed":
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: RetryService | None = None
) -> PartialItemFailureResponse:
    """SQS batch -> one result per message. `service`: an injected one (tests), else the process's.
    A batch from the retry queue's dead-letter queue ends the jobs its messages leave retrying."""
    records = event.get("Records", [])
    settler = service or retry_service()
    if from_dead_letters(records, settler.config.dead_letter_arns):
        return settle(  # type: ignore[return-value]
            records, lambda body, n: settler.settle_dead_letter(parse_retry(body), n)
        )
    return process_partial_response(
        event=event,
        record_handler=functools.partial(record_handler, service=service),
        processor=BatchProcessor(event_type=EventType.SQS),  # its state is per invocation
        context=context,
    )
