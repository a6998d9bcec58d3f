"""One range of a job cut into ranges, streamed by its own chain of invocations: its checkpoints go on
the job's item (its cursor, its counts added to the job's), and it stops as a whole job would."""

from __future__ import annotations

from dataclasses import replace

from shared.delivery.batches import Batcher
from shared.delivery.outcomes import settled_before
from shared.delivery.packing import to_entries
from shared.domain.errors import LeaseLostError
from shared.domain.failures import Failure, Kind, classify
from shared.domain.jobs import Job, JobStatus, Progress
from shared.domain.models import Fence
from shared.domain.ranges import FanOut, RangeProgress
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import logger
from shared.jobs.port import RangeStore
from shared.readers import ReadOptions, open_records
from shared.readers.source import ByteCounter

from .context import RunContext
from .ledger import Ledger, Report
from .messages import SEND, RangeTask
from .streaming import stream
from .units import Unit, make_units


class RangeCheckpoints:
    """A range's checkpoints for its ledger: its cursor on the job's item, its counts and bytes added
    to the job's. When the job has ended elsewhere (another range failed it), the range stops."""

    def __init__(self, store: RangeStore, index: int, position: int) -> None:
        self._store, self._index, self._position = store, index, position
        self.progress: RangeProgress | None = None

    def fence(self, owner: str) -> Fence:
        return Fence(f"r{self._index}_owner", owner)

    def record_progress(self, job: Job, owner: str, progress: Progress) -> str | None:
        """A range's part: its status is the range's (done, or stopped), never the job's."""
        status = progress.status
        done = status is not None and status != JobStatus.FAILED
        part = replace(progress, bytes_read=progress.bytes_read - self._position,
                       release=progress.release or status is not None)  # fmt: skip
        self.progress = self._store.record_progress(job.job_id, self._index, owner, part, done=done)
        self._position = progress.bytes_read
        if self.progress.status != JobStatus.RUNNING and not (done or progress.release or status):
            raise LeaseLostError(f"job {job.job_id} is {self.progress.status}: range stopped")
        return status


def send_range(
    run: RunContext, task: RangeTask, ledger: Ledger, checkpoints: RangeCheckpoints, fan: FanOut,
    context: LambdaContext, final: bool,
) -> Report:  # fmt: skip
    """Stream one range from its cursor to its end offset: continue through the queue when time runs
    short, stop on a failure, or mark the range done (the caller finishes the job if it was the last)."""
    ports, c = run.ports, run.config
    job, index = ledger.job, task.index
    _, end_offset = fan.bounds(index)
    if task.hop > c.max_hops:
        failure = Failure(
            Kind.FILE,
            "RunawayJob",
            f"stopped after {c.max_hops} continuations (LOADER_MAX_HOPS)",
        )
        return stop_range(run, ledger, failure, None, job.bytes_read, final)
    counter = ByteCounter()
    start = job.cursor.offset
    try:
        # Items past the range's checkpoint are an earlier owner's (crashed, or its lease ran out
        # before its first checkpoint): cleared, as the range reads them again.
        ports.records.delete_from(
            job.job_id, job.cursor.seq, fan.end_seq(index), checkpoints.fence(ledger.owner)
        )
        limits = ports.stream.limits(c.max_request_kib)
        sender = run.sender(job, limits)
        batcher = Batcher.for_sender(limits, sender.routing, len(sender.shard_map))
        chunks = ports.objects.chunks(
            job.bucket, job.key, version_id=job.version_id, etag=job.etag, start=start,
            end=end_offset, counter=counter,
        )  # fmt: skip
        options = ReadOptions(
            max_record_bytes=fan.hold,
            format=fan.format,
            keep_value=bool(job.partition_key_field),
        )
        records = open_records(chunks, job.key, options, job.cursor, positioned=True)
        entries = to_entries(records, run.key_of(job), limits)
    except LeaseLostError:
        raise
    except Exception as exc:
        return stop_range(run, ledger, exc, None, start, final)
    units = make_units(entries, batcher, records.state, job.cursor.seq)
    end = stream(run, ledger, sender, units, context, lambda: start + counter.count)
    if end.error is not None:
        return stop_range(run, ledger, end.error, end.settled, end.bytes_read, final)
    assert end.settled is not None
    if end.more:
        ledger.checkpoint(end.settled.resume, end.bytes_read, release=True)
        ports.ingest_queue.send(RangeTask(job.job_id, index, SEND, task.hop + 1).body())
        logger.info("range continues", extra={"range": index, "hop": task.hop + 1})
        return Report(job.job_id, "continued", ledger.totals)
    ledger.checkpoint(end.settled.resume, end_offset, status=JobStatus.COMPLETED)
    progress = checkpoints.progress
    assert progress is not None
    logger.info(
        "range done",
        extra={"range": index, "done": progress.ranges_done, "of": progress.ranges},
    )
    return Report(job.job_id, "range_done", ledger.totals)


def stop_range(
    run: RunContext,
    ledger: Ledger,
    exc: BaseException | Failure,
    settled: Unit | None,
    bytes_read: int,
    final: bool,
) -> Report:
    """Like a whole job's stop: an infrastructure failure checkpoints what settled and is raised
    for redelivery; a file failure (or the last delivery) fails the job, counting what went out."""
    failure = exc if isinstance(exc, Failure) else classify(exc)
    resume = settled.resume if settled is not None else ledger.job.cursor
    if failure.retriable and not final:
        if settled is not None:
            ledger.checkpoint(resume, bytes_read, release=True)
        assert isinstance(exc, BaseException)
        raise exc
    if isinstance(exc, BaseException):
        partial = settled_before(exc)
        if partial is not None:
            ledger.settle_partial(partial)
    ledger.checkpoint(resume, bytes_read, release=True)
    run.fail_unfinished(ledger.job.job_id, failure, cut=True)
    logger.error("job failed", extra={"error": failure.job_error, "error_code": failure.code})
    if failure.retriable and isinstance(exc, BaseException):
        raise exc
    return Report(ledger.job.job_id, JobStatus.FAILED, ledger.totals)
