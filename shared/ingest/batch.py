"""The ingest's plan for one SQS batch, under Powertools' batch template (`BatchProcessor`).

Two or more small objects' events run together (their records share requests). Any other message
is a job's (or a range's) whole invocation: the first runs here, then the others go back to the
queue as fresh messages for invocations of their own (run one after another here, they would wait
for each other and die together at a timeout). When the first fails (its message to be redelivered:
S3 or the stream down, say), the others are redelivered with it instead, after their visibility
timeout: handed on at once they would come straight back, an invocation loop for as long as the
outage lasts; one on its last delivery runs now, to end its job. As the batch processor does, an
invocation whose every message failed fails itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.config import LoaderConfig
from shared.domain.jobs import JobStatus, ObjectRef
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger, metrics, tracer

from .ledger import Report
from .messages import Message, parse_message
from .small import SmallFile


class Router(Protocol):
    config: LoaderConfig

    def handle(self, message: Message, context: LambdaContext, final: bool = False) -> Report: ...

    def small_file(self, message: Message) -> bool: ...

    def run_small(
        self, files: list[SmallFile], context: LambdaContext
    ) -> tuple[set[str], list[SmallFile]]: ...

    def hand_on(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


class RedeliveredError(Exception):
    """Not handled in this invocation: the message comes back after its visibility timeout."""


class IngestBatch(BatchProcessor):
    def __init__(self, router: Router) -> None:
        super().__init__(event_type=EventType.SQS)  # all failed: the invocation fails
        self.router = router

    def process(self) -> list[tuple[Any, ...]]:
        router, config = self.router, self.router.config
        small, rest = self._small_files()
        out: list[tuple[Any, ...]] = []
        if len(small) > 1:
            redeliver, regular = router.run_small(small, self.lambda_context)
            back = {f.message_id for f in regular}
            for f in small:
                if f.message_id in redeliver:
                    out.append(self._redeliver(f.record))
                elif f.message_id not in back:
                    out.append(self.success_handler(SQSRecord(f.record), None))
            rest = [r for r in self.records if r in rest or r["messageId"] in back]
        else:
            rest = list(self.records)
        if not rest:
            return out
        first = self._process_record(rest[0])
        out.append(first)
        others = rest[1:]
        if first[0] == "fail":  # the others come back later; one on its last delivery runs now
            for r in others:
                last = config.last_delivery(_receives(r))
                out.append(self._process_record(r) if last else self._redeliver(r))
        elif others:
            kept = router.hand_on(others)
            out += [self.success_handler(SQSRecord(r), None) for r in others if r not in kept]
            out += [self._process_record(r) for r in kept]
        return out

    def _small_files(self) -> tuple[list[SmallFile], list[dict[str, Any]]]:
        """The batch's small objects' events (run together), and the other messages."""
        small: list[SmallFile] = []
        rest: list[dict[str, Any]] = []
        for record in self.records:
            try:
                messages = parse_message(record["body"])
            except Exception:
                messages = []  # the regular path reports it
            if len(messages) == 1 and self.router.small_file(messages[0]):
                ref = messages[0]
                assert isinstance(ref, ObjectRef)
                final = self.router.config.last_delivery(_receives(record))
                small.append(SmallFile(record["messageId"], ref, final, record))
            else:
                rest.append(record)
        return small, rest

    def _redeliver(self, record: dict[str, Any]) -> tuple[Any, ...]:
        error = RedeliveredError("handed back for redelivery")
        return self.failure_handler(SQSRecord(record), (RedeliveredError, error, None))


@tracer.capture_method
def handle_record(record: SQSRecord, lambda_context: LambdaContext, router: Router) -> None:
    """One message, through the batch processor (an exception marks it for redelivery)."""
    log_job(None)  # the previous message's job is not this one's
    final = router.config.last_delivery(record.attributes.approximate_receive_count)
    for message in parse_message(record.body):
        report = router.handle(message, lambda_context, final)
        logger.info(
            "message handled",
            extra={"outcome": report.outcome, "counts": report.totals.counts.as_dict()},
        )
        emit(report)


def emit(report: Report) -> None:
    t = report.totals
    metrics.add_metric(name="RecordsSent", unit=MetricUnit.Count, value=t.counts.sent)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=t.counts.failed)
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=t.counts.rejected)
    metrics.add_metric(name="PutRecordsCalls", unit=MetricUnit.Count, value=t.requests)
    metrics.add_metric(name="ThrottledEntries", unit=MetricUnit.Count, value=t.throttled)
    metrics.add_metric(name="BytesSent", unit=MetricUnit.Bytes, value=t.bytes_sent)
    if report.outcome == JobStatus.FAILED:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)


def _receives(record: dict[str, Any]) -> Any:
    return record.get("attributes", {}).get("ApproximateReceiveCount")
