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

from shared.delivery.routing import NONE
from shared.domain.errors import (
    InputFileError,
    JobFinishedError,
    JobNotFoundError,
    JobSupersededError,
    LeaseLostError,
)
from shared.domain.jobs import Counts, Job, JobStatus
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor
from shared.domain.ranges import FanOut, cut
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger
from shared.jobs.port import RangeStore
from shared.readers.detect import JSONL, TEXT, resolve_format
from shared.readers.ranges import count_range, read_from
from shared.readers.source import MAGIC_BYTES, compression_of
from shared.stream.job_sender import job_options

from .context import RunContext
from .ledger import Ledger, Report
from .messages import COUNT, SEND, RangeTask
from .range_run import RangeCheckpoints, send_range
from .units import DONE

HEAD_BYTES = 64 * 1024


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
            report = send_range(run, task, ledger, checkpoints, fan, context, final)
        except LeaseLostError:
            raise
        except Exception:
            self.ranges.release_if_owner(task.job_id, index, owner)
            raise
        progress = checkpoints.progress
        the_last = (
            progress is not None
            and progress.ranges_done >= progress.ranges
            and progress.status == JobStatus.RUNNING
        )
        if report.outcome == "range_done" and the_last:
            self._finish_if_all_done(job.job_id, context)
        return report

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
