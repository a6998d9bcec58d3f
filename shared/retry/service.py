"""The retry service: failed records go out again; they end sent (recovered), or dead after the maximum."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.config import LoaderConfig
from shared.delivery.batches import Batcher
from shared.delivery.sending import Sender
from shared.domain.failures import Failure, classify, dead_lettered
from shared.domain.jobs import Job, JobStatus, LedgerItem, RecordStatus
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Transition
from shared.domain.timestamps import now_iso
from shared.events.port import JobEventSink
from shared.functions.boundary import settle_failure
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger
from shared.functions.queue_batch import handle_queue_batch
from shared.jobs.port import JobStore, RetryLeases
from shared.ledger.port import LedgerMoves, RecordLedger
from shared.ledger.resend import entry_of, failed_move, move, sent_move
from shared.objects.port import ObjectStore
from shared.queues.port import MAX_DELAY_SECONDS, MessageQueue
from shared.stream.job_sender import make_sender
from shared.stream.port import Stream

from .batch import handle_record
from .messages import RetryRequest, parse_retry
from .report import RetryReport

PAGE = 100
ATTEMPTS_PER_ROUND = 3
BUSY_DELAY_SECONDS = 30


@dataclass(slots=True)
class RetryPorts:
    jobs: JobStore
    lease: RetryLeases
    records: RecordLedger
    ledger: LedgerMoves
    objects: ObjectStore
    stream: Stream
    retry_queue: MessageQueue
    events: JobEventSink


class RetryService:
    def __init__(
        self,
        config: LoaderConfig,
        ports: RetryPorts,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self.ports = config, ports
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._monotonic = monotonic

    # -- entry -----------------------------------------------------------------
    def handle_batch(
        self, event: dict[str, Any], context: LambdaContext
    ) -> PartialItemFailureResponse:
        """One invocation's SQS batch, each message a round (or part of one); a batch from the
        retry queue's dead-letter queue ends the jobs its messages leave retrying."""
        return handle_queue_batch(
            event, context, dead_letter_arns=self.config.dead_letter_arns,
            settle_one=lambda body, n: self.settle_dead_letter(parse_retry(body), n),
            record_handler=functools.partial(handle_record, rounds=self),
        )  # fmt: skip

    def handle(
        self, request: RetryRequest, context: LambdaContext, final: bool = False
    ) -> RetryReport:
        """One retry message; `final`: its last delivery, so the job must not be left retrying.

        Records that cannot be resent are dead one by one (in `_resend`). What stops a whole round
        is classified here: an infrastructure error is raised for the queue to redeliver; any other,
        or one on the last delivery, fails a retrying job with the error (its failed records stay
        failed, so a retry asked for later can still send them).
        """
        try:
            return self._handle(request, context)
        except Exception as exc:
            error = f"retry round {request.round} could not run"
            failure = settle_failure(exc, final, lambda f: self._fail_retrying(request, error, f))
            return RetryReport(request.job_id, "failed", notes=[f"{error}: {failure.message}"])
        finally:
            self.ports.events.flush()

    def settle_dead_letter(self, request: RetryRequest, receives: object) -> None:
        """A retry message the queue gave up on (from the dead-letter queue): a job still retrying
        fails with that error (its failed records stay failed, so a retry asked later sends them)."""
        log_job(request.job_id)
        error = f"retry round {request.round} could not run"
        try:
            self._fail_retrying(request, error, dead_lettered(receives))
        finally:
            self.ports.events.flush()

    def _fail_retrying(self, request: RetryRequest, error: str, failure: Failure) -> None:
        message = f"{error}: {failure.message}"
        was = self.ports.jobs.fail_unfinished(
            request.job_id, message, failure.code, (JobStatus.RETRYING,), self._clock()
        )
        if was is not None:
            was.error = message
            self.ports.events.changed(was, JobStatus.FAILED, was.status)

    def _handle(self, request: RetryRequest, context: LambdaContext) -> RetryReport:
        log_job(request.job_id)
        p = self.ports
        wait = request.not_before - self._clock()
        if wait > 0:  # a long wait, chained in 15-minute steps
            p.retry_queue.send(request.body(), min(MAX_DELAY_SECONDS, int(wait) + 1))
            return RetryReport(request.job_id, "deferred")
        job = p.jobs.get(request.job_id)
        if job is None:
            logger.warning("retry for an unknown job dropped")
            return RetryReport(request.job_id, "skipped")
        owner = f"{context.aws_request_id}:{uuid.uuid4().hex[:8]}"
        remaining = context.get_remaining_time_in_millis() / 1000
        until, now = self._clock() + remaining + self.config.lease_grace_seconds, self._clock()
        if not p.lease.acquire(job.job_id, owner, until, now, request.round):
            p.retry_queue.send(
                request.body(), BUSY_DELAY_SECONDS
            )  # another retry runs this job now
            return RetryReport(job.job_id, "busy")
        try:
            return self._retry(job, request, context)
        finally:
            p.lease.release(job.job_id, owner)

    # -- one round ---------------------------------------------------------------
    def _retry(self, job: Job, request: RetryRequest, context: LambdaContext) -> RetryReport:
        p, c = self.ports, self.config
        report = RetryReport(job.job_id, "finished")
        statuses = (
            (RecordStatus.FAILED, RecordStatus.DEAD)
            if request.include_dead
            else (RecordStatus.FAILED,)
        )
        if job.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS) and (
            job.counts.failed or request.include_dead
        ):
            was = p.lease.set_status(
                job.job_id,
                JobStatus.RETRYING,
                (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS),
            )
            if was is not None:
                p.events.changed(was, JobStatus.RETRYING, was.status)
        limits = p.stream.limits(c.max_request_kib)
        sender = make_sender(
            c, p.stream, job, limits, ATTEMPTS_PER_ROUND, self._monotonic, self._sleep
        )
        # No request waits into the margin (kept for the page's ledger moves and the hand-on): what
        # the deadline cuts off stays failed, for the rest of the round in a fresh invocation.
        deadline = (
            self._monotonic()
            + context.get_remaining_time_in_millis() / 1000
            - c.time_margin_seconds
        )
        for status in statuses:
            for page in self._pages(job, status, request):
                self._resend(job, page, limits, sender, report, deadline)
                if context.get_remaining_time_in_millis() / 1000 < c.time_margin_seconds:
                    p.retry_queue.send(request.body())  # the rest in a fresh invocation, same round
                    report.outcome = "continued"
                    return report
        return self._after_round(job.job_id, request, report)

    def _pages(self, job: Job, status: str, request: RetryRequest) -> Iterator[list[LedgerItem]]:
        """Records in `status`, page by page; while the ingest still runs, only those it checkpointed."""
        if request.seqs is not None:
            items = [self.ports.records.get(job.job_id, s) for s in request.seqs]
            yield [i for i in items if i and i.status == status]
            return
        start = None
        while True:
            page, start = self.ports.records.by_status(job.job_id, status, PAGE, start)
            if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                page = [i for i in page if i.seq < job.cursor.seq]
            if page:
                yield page
            if not start:
                return

    def _resend(
        self,
        job: Job,
        items: list[LedgerItem],
        limits: KinesisLimits,
        sender: Sender,
        report: RetryReport,
        deadline: float | None = None,
    ) -> None:
        moves: list[Transition] = []
        now = now_iso()
        entries: list[Entry] = []
        by_seq = {i.seq: i for i in items}
        for item in items:
            try:
                entries.append(entry_of(item, self.ports.objects, self.config.bucket, limits))
            except Exception as exc:  # one record that cannot be resent is dead alone
                failure = classify(exc)
                if failure.retriable:
                    raise
                logger.warning(
                    "record cannot be resent",
                    extra={
                        "seq": item.seq,
                        "error_code": failure.code,
                        "error": failure.message,
                    },
                )
                moves.append(
                    move(
                        item, now, status=RecordStatus.DEAD, error_code=failure.code,
                        error_message=f"cannot be resent: {failure.message}",
                    )
                )  # fmt: skip
        # a batch at a time, each settled in the ledger before the next goes out: a crash re-sends
        # at most the requests in flight
        batches = Batcher.for_sender(limits, sender.routing, len(sender.shard_map)).batches(entries)
        for batch in [*batches] or [[]]:
            if batch:
                outcome = sender.send_batch(batch, deadline)
                report.calls += outcome.calls
                moves += [sent_move(by_seq[s.entry.seq], s, now) for s in outcome.sent]
                moves += [
                    failed_move(by_seq[f.entry.seq], f, now, self.config.max_retries)
                    for f in outcome.failed
                ]
            self._apply(job, moves, report)
            moves = []

    def _apply(self, job: Job, moves: list[Transition], report: RetryReport) -> None:
        applied = self.ports.ledger.apply(job.job_id, moves)
        for applied_move in applied:
            status = applied_move.values["status"]
            report.recovered += status == RecordStatus.SENT
            report.failed += status == RecordStatus.FAILED
            report.dead += (
                status == RecordStatus.DEAD and applied_move.from_status != RecordStatus.DEAD
            )
        if len(applied) < len(moves):
            report.notes.append(
                f"{len(moves) - len(applied)} records changed meanwhile and were left as they were"
            )

    # -- after the round -------------------------------------------------------------
    def _after_round(self, job_id: str, request: RetryRequest, report: RetryReport) -> RetryReport:
        p, c = self.ports, self.config
        job = p.jobs.get(job_id)
        assert job is not None
        if job.counts.failed > 0:
            delay = min(c.retry_max_delay_seconds, c.retry_delay_seconds * 2 ** (request.round - 1))
            delay *= 0.5 + self._rng() / 2  # jitter, never close to zero
            nxt = RetryRequest(job_id, request.round + 1)
            body = (
                nxt.body(not_before=self._clock() + delay)
                if delay > MAX_DELAY_SECONDS
                else nxt.body()
            )
            p.retry_queue.send(body, min(MAX_DELAY_SECONDS, int(delay)))
            report.outcome = "scheduled"
        elif job.status == JobStatus.RETRYING:
            final = (
                JobStatus.COMPLETED_WITH_ERRORS
                if job.counts.rejected or job.counts.dead
                else JobStatus.COMPLETED
            )
            was = p.lease.set_status(job_id, final, (JobStatus.RETRYING,), require_no_failed=True)
            if was is not None:
                p.events.changed(was, final, JobStatus.RETRYING)
        logger.info(
            "retry round done",
            extra={"round": request.round, "recovered": report.recovered, "failed": report.failed,
                   "dead": report.dead, "outcome": report.outcome},
        )  # fmt: skip
        return report
