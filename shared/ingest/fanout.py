"""One huge object read by parallel invocations: the cut, the count of each range, the ranges sent each
as a chain of its own, and the job finished once, by whichever range ends last.

The job's invocation that finds the object big enough (LOADER_FANOUT_MIN_BYTES, a plain JSON Lines or
text object) records the cut and queues one count message for each range but the last (no range follows
it, so its count is never needed). The count that completes the set queues one send message a range; each range streams its lines with exact file seq and line, checkpoints
its own cursor and adds its counts to the job's in the same write, continues through the queue when
time runs short, and the range that ends last finishes the job. Every step is idempotent: a redelivered
or duplicated message finds its range counted, leased or done, and at most re-queues what is missing.
"""

from __future__ import annotations

from dataclasses import replace

from shared.delivery.batches import Batcher
from shared.delivery.packing import to_entries
from shared.delivery.routing import NONE
from shared.delivery.sending import settled_before
from shared.domain.errors import (
    InputFileError,
    JobFinishedError,
    JobNotFoundError,
    JobSupersededError,
    LeaseLostError,
)
from shared.domain.failures import Failure, Kind, classify
from shared.domain.jobs import Counts, Job, JobStatus, Progress
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor, Fence
from shared.domain.ranges import FanOut, RangeProgress, cut
from shared.job_sender import job_options
from shared.observability import log_job, logger
from shared.ports import LambdaContext, RangeStore
from shared.readers import ReadOptions, open_records
from shared.readers.detect import JSONL, TEXT, resolve_format
from shared.readers.ranges import count_range, read_from
from shared.readers.source import MAGIC_BYTES, ByteCounter, compression_of

from .context import RunContext
from .ledger import Ledger, Report
from .messages import COUNT, SEND, RangeTask
from .streaming import stream
from .units import DONE, Unit, make_units

HEAD_BYTES = 64 * 1024


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


class FanOutRuns:
    def __init__(self, run: RunContext) -> None:
        self.run = run
        ranges = run.ports.ranges
        assert ranges is not None
        self.ranges: RangeStore = ranges

    def split(self, ledger: Ledger, hop: int, limits: KinesisLimits) -> Report | None:
        """A job cut into ranges runs as its ranges; a fresh one big enough is cut now. None: the job
        runs as one chain."""
        job = ledger.job
        if "fanout" in job.extra:
            fan = self.ranges.fanout(job.job_id)
            if fan is not None:
                return self.resume(ledger, fan)
        if hop == 0 and job.cursor.offset == 0 and job.cursor.seq == 0:
            fan = self.plan(job, limits)
            if fan is not None:
                return self.start(ledger, fan)
        return None

    # -- the job's own invocation -------------------------------------------------------------
    def plan(self, job: Job, limits: KinesisLimits) -> FanOut | None:
        """The cut for this job, or None when it runs as one chain: too small, compressed, not JSON
        Lines or text, or keyed by a field with per-key order (ranges would race on a key)."""
        c = self.run.config
        starts = cut(job.size, c.fanout_min_bytes, c.fanout_max_parallel)
        if starts is None:
            return None
        if job.partition_key_field and job_options(c, job)[0] != NONE:
            return None
        chunks = self.run.ports.objects.chunks(
            job.bucket, job.key, version_id=job.version_id, etag=job.etag, end=HEAD_BYTES
        )
        head = b"".join(chunks)[:HEAD_BYTES]  # a ranged read of at most HEAD_BYTES
        if compression_of(head[:MAGIC_BYTES]) is not None:
            return None
        try:
            fmt = resolve_format(job.extra.get("format_option"), job.key, head)
        except InputFileError:
            return None  # the regular path fails the job with the reason
        if fmt not in (JSONL, TEXT) or (fmt == TEXT and job.partition_key_field):
            return None
        return FanOut(starts, fmt, limits.effective_record_bytes)

    def start(self, ledger: Ledger, fan: FanOut) -> Report:
        """Record the cut, release the job and queue the counts."""
        job = ledger.job
        fan = self.ranges.cut(job, ledger.owner, fan)
        logger.info(
            "cut into ranges read in parallel",
            extra={"ranges": fan.ranges, "size": job.size, "format": fan.format},
        )
        self._queue_missing(job.job_id, fan)
        return self._report(job.job_id, "fanned_out")

    def resume(self, ledger: Ledger, fan: FanOut) -> Report:
        """The job ran again (a duplicate event, a redelivery): finish it if every range is done, else
        queue again what is missing (duplicates are harmless)."""
        job = ledger.job
        if fan.finished:
            return self._finish(ledger, fan)
        self.run.ports.jobs.release_if_owner(job.job_id, ledger.owner)
        self._queue_missing(job.job_id, fan)
        return self._report(job.job_id, "fanned_out")

    def _queue_missing(self, job_id: str, fan: FanOut) -> None:
        queue = self.run.ports.ingest_queue
        if not fan.counted:
            for i in range(fan.ranges - 1):
                if i not in fan.counts:
                    queue.send(RangeTask(job_id, i, COUNT).body())
            return
        for i in range(fan.ranges):
            if i not in fan.done:
                queue.send(RangeTask(job_id, i, SEND).body())

    # -- a range's invocations ---------------------------------------------------------------
    def handle(self, task: RangeTask, context: LambdaContext, final: bool) -> Report:
        log_job(task.job_id)
        if task.phase == COUNT:
            return self.count(task)
        return self.send(task, context, final)

    def count(self, task: RangeTask) -> Report:
        ports = self.run.ports
        job, fan = self.ranges.read(task.job_id) or (None, None)
        if (
            job is None
            or fan is None
            or job.status != JobStatus.RUNNING
            or task.index >= fan.ranges - 1
        ):
            return self._report(task.job_id, "skipped")  # the last range is never counted
        after: FanOut | None = fan  # a repeat: the cut as just read decides
        if task.index not in fan.counts:
            start, end = fan.starts[task.index], fan.starts[task.index + 1]
            chunks = ports.objects.chunks(
                job.bucket, job.key, version_id=job.version_id, etag=job.etag,
                start=read_from(start),
            )  # fmt: skip
            try:
                count = count_range(chunks, start, end, fan.hold, fan.format)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            # the cut as this count left it; counted meanwhile by a duplicate: as on record now
            after = self.ranges.counted(task.job_id, task.index, count) or self.ranges.fanout(
                task.job_id
            )
            logger.info(
                "range counted",
                extra={"range": task.index, "lines": count.lines, "records": count.records},
            )
        if after is not None and after.counted:  # the count that completed the set, or a repeat
            self._queue_missing(task.job_id, after)
        return self._report(task.job_id, "counted")

    def send(self, task: RangeTask, context: LambdaContext, final: bool) -> Report:
        run = self.run
        owner, until = run.lease(context)
        try:
            lease = self.ranges.acquire(
                task.job_id, task.index, owner, until, run.clock(), task.hop
            )
        except JobSupersededError as exc:
            logger.info("range not run", extra={"range": task.index, "reason": str(exc)})
            return self._report(task.job_id, "skipped")
        except JobFinishedError:
            return self._finish_if_all_done(task.job_id, context)
        except JobNotFoundError as exc:
            logger.info("range not run", extra={"range": task.index, "reason": str(exc)})
            return self._report(task.job_id, "skipped")
        fan, index = lease.fan, task.index
        if not fan.counted:  # queued before the counts were in: never, unless by hand
            self.ranges.release_if_owner(task.job_id, index, owner)
            return self._report(task.job_id, "skipped")
        first, _ = fan.bounds(index)
        if lease.cursor is None:
            seq, line = fan.base(index)
            cursor = Cursor(first, seq, line, {"format": fan.format, "compression": None})
        else:
            cursor = lease.cursor
        position = first + lease.bytes_read
        job = replace(lease.job, cursor=cursor, counts=Counts(), bytes_read=position)
        checkpoints = RangeCheckpoints(self.ranges, index, position)
        ledger = run.ledger(job, owner, checkpoints)
        try:
            return self._send(task, ledger, checkpoints, fan, context, final)
        except LeaseLostError:
            raise
        except Exception:
            self.ranges.release_if_owner(task.job_id, index, owner)
            raise

    def _send(
        self,
        task: RangeTask,
        ledger: Ledger,
        checkpoints: RangeCheckpoints,
        fan: FanOut,
        context: LambdaContext,
        final: bool,
    ) -> Report:
        run, ports, c = self.run, self.run.ports, self.run.config
        job, index = ledger.job, task.index
        _, end_offset = fan.bounds(index)
        if task.hop > c.max_hops:
            failure = Failure(
                Kind.FILE,
                "RunawayJob",
                f"stopped after {c.max_hops} continuations (LOADER_MAX_HOPS)",
            )
            return self._stop(ledger, failure, None, job.bytes_read, final)
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
            return self._stop(ledger, exc, None, start, final)
        units = make_units(entries, batcher, records.state, job.cursor.seq)
        end = stream(run, ledger, sender, units, context, lambda: start + counter.count)
        if end.error is not None:
            return self._stop(ledger, end.error, end.settled, end.bytes_read, final)
        assert end.settled is not None
        if end.more:
            ledger.checkpoint(end.settled.resume, end.bytes_read, release=True)
            ports.ingest_queue.send(RangeTask(job.job_id, index, SEND, task.hop + 1).body())
            logger.info("range continues", extra={"range": index, "hop": task.hop + 1})
            return self._report(job.job_id, "continued", ledger)
        ledger.checkpoint(end.settled.resume, end_offset, status=JobStatus.COMPLETED)
        progress = checkpoints.progress
        assert progress is not None
        logger.info(
            "range done",
            extra={"range": index, "done": progress.ranges_done, "of": progress.ranges},
        )
        if progress.ranges_done >= progress.ranges and progress.status == JobStatus.RUNNING:
            self._finish_if_all_done(job.job_id, context)
        return self._report(job.job_id, "range_done", ledger)

    def _stop(
        self,
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
        self.run.fail_unfinished(ledger.job.job_id, failure, cut=True)
        logger.error("job failed", extra={"error": failure.job_error, "error_code": failure.code})
        if failure.retriable and isinstance(exc, BaseException):
            raise exc
        return self._report(ledger.job.job_id, JobStatus.FAILED, ledger)

    # -- the end -----------------------------------------------------------------------------
    def _finish_if_all_done(self, job_id: str, context: LambdaContext) -> Report:
        """Finish the job if every range is done and it still runs (whoever gets here first)."""
        run = self.run
        job, fan = self.ranges.read(job_id) or (None, None)
        if fan is None or job is None or job.status != JobStatus.RUNNING or not fan.finished:
            return self._report(job_id, "skipped")
        owner, until = run.lease(context)
        try:
            job = run.ports.jobs.acquire(job_id, owner, until, run.clock(), job.hops)
        except (JobFinishedError, JobNotFoundError) as exc:
            logger.info("job not finished here", extra={"reason": str(exc)})
            return self._report(job_id, "skipped")
        ports = run.ports
        ledger = run.ledger(job, owner)
        try:
            return self._finish(ledger, fan)
        except LeaseLostError:
            raise
        except Exception:  # let the redelivery (its range done) take the job and finish it
            ports.jobs.release_if_owner(job_id, owner)
            raise

    def _finish(self, ledger: Ledger, fan: FanOut) -> Report:
        records, lines = ledger.job.counts.records, 0  # every record read is counted, exactly
        end = Cursor(
            ledger.job.size, records, lines, {"format": fan.format, "compression": None, DONE: True}
        )
        return self.run.finish(ledger, end, ledger.job.size)

    def _report(self, job_id: str, outcome: str, ledger: Ledger | None = None) -> Report:
        return Report(job_id, outcome, ledger.totals) if ledger else Report(job_id, outcome)
