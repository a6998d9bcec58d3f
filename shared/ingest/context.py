"""What every way of running a job shares: the ports, the config, the clocks, the lease, and how a
job finishes or fails. The chain, the fan-out and the small-file batch each take one `RunContext`;
none of them knows the service that routes to them, nor each other."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.config import LoaderConfig
from shared.delivery.partition_keys import field_key, record_id_key
from shared.delivery.sending import Sender
from shared.domain.errors import LedgerError
from shared.domain.failures import Failure
from shared.domain.jobs import Counts, Job, JobStatus
from shared.domain.limits import KinesisLimits
from shared.events.port import JobEventSink
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import logger
from shared.jobs.port import Checkpoints, JobStore, RangeStore, RetryLeases
from shared.ledger.port import LedgerMoves, RecordLedger
from shared.objects.port import ObjectStore
from shared.queues.port import MessageQueue
from shared.retry.messages import RetryRequest
from shared.stream.job_sender import make_sender
from shared.stream.port import Stream

from .ledger import Ledger, Report


@dataclass(slots=True)
class IngestPorts:
    jobs: JobStore
    records: RecordLedger
    objects: ObjectStore
    stream: Stream
    ingest_queue: MessageQueue
    retry_queue: MessageQueue
    events: JobEventSink
    moves: LedgerMoves | None = None  # a per-key continuation resends failed records first
    ranges: RangeStore | None = None  # huge objects are cut into ranges read in parallel
    retry_lease: RetryLeases | None = None  # the resend of failed records runs under it


def finished_status(counts: Counts) -> str:
    """How a job ends once nothing is failed."""
    return (
        JobStatus.COMPLETED_WITH_ERRORS if counts.rejected or counts.dead else JobStatus.COMPLETED
    )


@dataclass(slots=True)
class RunContext:
    config: LoaderConfig
    ports: IngestPorts
    clock: Callable[[], float] = field(default=time.time)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)

    # -- what a run holds ---------------------------------------------------------------
    def lease(self, context: LambdaContext) -> tuple[str, float]:
        """An owner name for this invocation's lease, and when the lease runs out."""
        owner = f"{context.aws_request_id}:{uuid.uuid4().hex[:8]}"
        remaining = context.get_remaining_time_in_millis() / 1000
        return owner, self.clock() + remaining + self.config.lease_grace_seconds

    def ledger(self, job: Job, owner: str, checkpoints: Checkpoints | None = None) -> Ledger:
        """The ledger a run settles into: the job's checkpoints, or a range's."""
        p = self.ports
        return Ledger(job, owner, self.config, checkpoints or p.jobs, p.records, p.objects,
                      self.monotonic)  # fmt: skip

    def sender(self, job: Job, limits: KinesisLimits) -> Sender:
        """The sender for this job's options (a bad option is a ConfigError: the job fails with it)."""
        c = self.config
        return make_sender(
            c, self.ports.stream, job, limits, c.max_attempts, self.monotonic, self.sleep
        )

    @staticmethod
    def key_of(job: Job) -> Callable[[Any], str]:
        """The partition key of a job's records: its field's value, or `<job id>:<seq>`."""
        key_field = job.partition_key_field
        return field_key(key_field) if key_field else record_id_key(job.job_id)

    # -- how a job ends -----------------------------------------------------------------
    def finish(self, ledger: Ledger, cursor: Any, size: int) -> Report:
        """The input is read: one write when nothing failed; else the counts and the cursor first,
        then the retry message, then `retrying` (a redelivery after a lost message finishes again).
        The retry round may run before that last write and recover every failed record: the write
        then finishes the job itself, as the round would have."""
        job = ledger.job
        counts = ledger.counts_now()
        if counts.failed:
            ledger.checkpoint(cursor, size)  # everything settled, the cursor at the end
            self.ports.retry_queue.send(
                RetryRequest(job.job_id, 1).body(), self.config.retry_delay_seconds
            )
            status = ledger.checkpoint(
                cursor, size, status=JobStatus.RETRYING, unless_none_failed=finished_status
            )
        else:
            status = ledger.checkpoint(cursor, size, status=finished_status(counts))
        assert status is not None
        self.ports.events.changed(job, status, JobStatus.RUNNING)
        logger.info("input read", extra={"status": status, "counts": counts.as_dict()})
        return Report(job.job_id, status, ledger.totals)

    def fail(
        self, ledger: Ledger, failure: Failure, cursor: Any = None, bytes_read: int | None = None
    ) -> Report:
        """Fail the job this run holds, with what settled counted."""
        job = ledger.job
        ledger.checkpoint(
            cursor or job.cursor,
            job.bytes_read if bytes_read is None else bytes_read,
            status=JobStatus.FAILED,
            error=failure.job_error,
            error_code=failure.code,
        )
        job.error = failure.job_error
        self.ports.events.changed(job, JobStatus.FAILED, JobStatus.RUNNING)
        logger.error("job failed", extra={"error": failure.job_error, "error_code": failure.code})
        return Report(job.job_id, JobStatus.FAILED, ledger.totals)

    def fail_unfinished(self, job_id: str, failure: Failure, *, cut: bool = False) -> None:
        """Fail a job that is not finished, unless a live invocation holds its lease (that one ends
        it). A job cut into ranges (`cut`) is leased only for moments (its cut, a duplicate event's
        run), by nobody who carries on a range's part: the failure is raised for the redelivery to
        fail it then, never leaving it running."""
        jobs = self.ports.jobs
        was = jobs.fail_unfinished(
            job_id,
            failure.job_error,
            failure.code,
            (JobStatus.QUEUED, JobStatus.RUNNING),
            self.clock(),
        )
        if was is not None:
            was.error = failure.job_error
            self.ports.events.changed(was, JobStatus.FAILED, was.status)
        elif cut:
            job = jobs.get(job_id)
            if job is not None and job.status == JobStatus.RUNNING:
                raise LedgerError(f"{failure.job_error} (the job was leased; failing it again)")
