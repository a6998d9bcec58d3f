"""One retry message, through Powertools' batch processor, with the metrics its round leaves."""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.config import LoaderConfig
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger, metrics, tracer

from .messages import RetryRequest, parse_retry
from .report import RetryReport


class Rounds(Protocol):
    config: LoaderConfig

    def handle(
        self, request: RetryRequest, context: LambdaContext, final: bool = False
    ) -> RetryReport: ...


@tracer.capture_method
def handle_record(record: SQSRecord, lambda_context: LambdaContext, rounds: Rounds) -> None:
    log_job(None)  # the previous message's job is not this one's
    final = rounds.config.last_delivery(record.attributes.approximate_receive_count)
    report = rounds.handle(parse_retry(record.body), lambda_context, final)
    logger.info("retry handled", extra={"outcome": report.outcome, "notes": report.notes})
    metrics.add_metric(name="RecordsRecovered", unit=MetricUnit.Count, value=report.recovered)
    metrics.add_metric(name="RecordsStillFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="RecordsDead", unit=MetricUnit.Count, value=report.dead)
    if report.outcome == "failed":
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
