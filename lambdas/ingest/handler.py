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
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.batch.types import (
    PartialItemFailureResponse,
    PartialItemFailures,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.dead_letters import from_dead_letters, settle
from shared.domain.jobs import FAILED, ObjectRef
from shared.ingest.messages import parse_message
from shared.ingest.service import IngestService, Report
from shared.ingest.small import SmallFile
from shared.ingest.wiring import ingest_service
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


def _small_files(
    records: list[dict[str, Any]], service: IngestService
) -> tuple[list[SmallFile], list[dict[str, Any]]]:
    """The batch's small objects' events (run together), and the other messages."""
    small: list[SmallFile] = []
    rest: list[dict[str, Any]] = []
    for record in records:
        try:
            messages = parse_message(record["body"])
        except Exception:
            messages = []  # the regular path reports it
        if len(messages) == 1 and service.small_file(messages[0]):
            ref = messages[0]
            assert isinstance(ref, ObjectRef)
            final = service.config.last_delivery(_receives(record))
            small.append(SmallFile(record["messageId"], ref, final))
        else:
            rest.append(record)
    return small, rest


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: IngestService | None = None
) -> PartialItemFailureResponse:
    """SQS batch -> one result per message. `service`: an injected one (tests), else the process's.

    Two or more small objects' events run together (their records share requests). Any other
    message is a job's (or a range's) whole invocation: the first runs here, then the others go back
    to the queue as fresh messages for invocations of their own (run one after another here, they
    would wait for each other and die together at a timeout). When the first fails (its message to
    be redelivered: S3 or the stream down, say), the others are redelivered with it instead, after
    their visibility timeout: handed on at once they would come straight back, an invocation loop
    for as long as the outage lasts."""
    service = service or ingest_service()
    records = event.get("Records", [])
    if from_dead_letters(records, service.config.dead_letter_arns):
        return settle(records, lambda body, n: _settle_one(service, body, n))  # type: ignore[return-value]
    small, rest = _small_files(records, service)
    failures: list[PartialItemFailures] = []
    if len(small) > 1:
        redeliver, regular = service.run_small(small, context)
        failures += [PartialItemFailures(itemIdentifier=i) for i in sorted(redeliver)]
        back = {f.message_id for f in regular}
        rest += [r for r in records if r["messageId"] in back]
    else:
        rest = records
    if not rest:
        return {"batchItemFailures": failures}
    failed = _process(event, rest[:1], context, service)
    others = rest[1:]
    if failed:  # the others come back later; one on its last delivery runs now, to end its job
        last = [r for r in others if service.config.last_delivery(_receives(r))]
        failed += [
            PartialItemFailures(itemIdentifier=r["messageId"]) for r in others if r not in last
        ]
        if last:
            failed += _process(event, last, context, service)
    elif others:
        kept = service.hand_on(others)
        if kept:
            failed = _process(event, kept, context, service)
    failures += failed
    if {f["itemIdentifier"] for f in failures} >= {r["messageId"] for r in records}:
        # as the batch processor does: an invocation whose every message failed fails itself
        raise BatchProcessingError(
            "All records failed processing; they come back after their visibility timeout"
        )
    return {"batchItemFailures": failures}


def _settle_one(service: IngestService, body: str, receives: object) -> None:
    for message in parse_message(body):
        service.settle_dead_letter(message, receives)


def _receives(record: dict[str, Any]) -> Any:
    return record.get("attributes", {}).get("ApproximateReceiveCount")


def _process(
    event: dict[str, Any], records: list[dict[str, Any]], context: LambdaContext,
    service: IngestService,
) -> list[PartialItemFailures]:  # fmt: skip
    answer = process_partial_response(
        event={**event, "Records": records},
        record_handler=functools.partial(record_handler, service=service),
        # its state is per invocation; an entire failure is the handler's to raise
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )
    return list(answer.get("batchItemFailures", []))
