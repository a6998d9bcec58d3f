"""Ingest Lambda: SQS messages (S3 events, continuations) -> jobs streamed into Kinesis."""

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

from shared.ingest.messages import parse_message
from shared.ingest.service import IngestService, Report
from shared.ingest.wiring import ingest_service
from shared.jobs import FAILED
from shared.observability import log_job, logger, metrics, tracer


def _emit(report: Report) -> None:
    t = report.totals
    metrics.add_metric(name="RecordsSent", unit=MetricUnit.Count, value=t.counts.sent)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=t.counts.failed)
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=t.counts.rejected)
    metrics.add_metric(name="PutRecordsCalls", unit=MetricUnit.Count, value=t.requests)
    metrics.add_metric(name="ThrottledEntries", unit=MetricUnit.Count, value=t.throttled)
    metrics.add_metric(name="BytesSent", unit=MetricUnit.Bytes, value=t.bytes_sent)
    if report.outcome == FAILED:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def record_handler(
    record: SQSRecord, lambda_context: LambdaContext, service: IngestService | None = None
) -> None:
    log_job(None)  # the previous message's job is not this one's
    service = service or ingest_service()
    final = service.config.last_delivery(record.attributes.approximate_receive_count)
    for message in parse_message(record.body):
        report = service.handle(message, lambda_context, final)
        logger.info(
            "message handled",
            extra={"outcome": report.outcome, "counts": report.totals.counts.as_dict()},
        )
        _emit(report)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: IngestService | None = None
) -> PartialItemFailureResponse:
    """SQS batch -> one result per message. `service`: an injected one (tests), else the process's."""
    return process_partial_response(
        event=event,
        record_handler=functools.partial(record_handler, service=service),
        processor=BatchProcessor(event_type=EventType.SQS),  # its state is per invocation
        context=context,
    )
