"""One object as a chain of invocations: open the job (idempotently), take its lease, resend what an
earlier invocation gave up on where order asks it, stream, then continue, stop or finish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from shared.delivery.batches import Batcher
from shared.delivery.options import META_AGGREGATE, META_FORMAT, META_KEY_FIELD, META_ORDERING
from shared.delivery.outcomes import settled_before
from shared.delivery.packing import to_entries
from shared.domain.errors import (
    ConfigError,
    InputFileError,
    JobFinishedError,
    JobNotFoundError,
    LeaseLostError,
)
from shared.domain.failures import Failure, Kind, classify
from shared.domain.jobs import Job, JobStatus, ObjectRef
from shared.domain.limits import KinesisLimits
from shared.domain.models import ObjectInfo
from shared.domain.timestamps import now_iso
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger
from shared.readers import ReadOptions, open_records
from shared.readers.detect import TEXT
from shared.readers.source import ByteCounter

from .context import RunContext
from .ledger import Ledger, Report
from .messages import continuation_body
from .resend_pass import resend_failed
from .streaming import stream
from .units import DONE, make_units

# A job another way of running claims (a fan-out): its report, or None to run it as a chain.
Split = Callable[[Ledger, int, KinesisLimits], "Report | None"]


class Chain:
    def __init__(self, run: RunContext, split: Split | None = None) -> None:
        self.run, self.split = run, split

    def open(self, ref: ObjectRef, context: LambdaContext, final: bool = False) -> Report:
        """A fresh upload: create its job unless a duplicate event already did, then run it."""
        run, c = self.run, self.run.config
        info = None
        if ref.version_id is None:
            # Events from a versioned bucket carry the version id; emulators may not. Adopt the current
            # version only when it is this very content (same ETag), so an overwrite is never taken for it.
            info = self._head(ref)
            if info and info.version_id and _same_etag(info.etag, ref.etag):
                ref = ObjectRef(
                    ref.bucket, ref.key, info.version_id, ref.etag, ref.size, ref.sequencer
                )
        log_job(ref.job_id)
        if run.ports.jobs.get(ref.job_id) is None:
            info = info if info and info.version_id == ref.version_id else self._head(ref)
            size, meta = (info.size, info.metadata) if info else (ref.size or 0, {})
            etag = ref.etag or (info.etag if info else None)
            ref = ObjectRef(ref.bucket, ref.key, ref.version_id, etag, size, ref.sequencer)
            options = {
                "format": meta.get(META_FORMAT) or c.default_format,
                "partition_key_field": meta.get(META_KEY_FIELD) or c.default_partition_key_field,
                "ordering": meta.get(META_ORDERING) or c.default_ordering,
                "aggregate": meta.get(META_AGGREGATE) or str(c.default_aggregate).lower(),
            }
            # Opened already running under this invocation's lease: one write instead of two.
            owner, until = run.lease(context)
            job = run.ports.jobs.create_running(ref, size, options, owner, until, now_iso())
            logger.info(
                "job opened" if job else "job exists (duplicate event)", extra={"key": ref.key}
            )
            if job is not None:
                opened = Job(
                    ref.job_id, ref.bucket, ref.key, ref.version_id, etag, size, JobStatus.QUEUED
                )
                run.ports.events.changed(opened, JobStatus.QUEUED, None)
                job.extra["previous_status"] = JobStatus.QUEUED
                run.ports.events.changed(job, JobStatus.RUNNING, JobStatus.QUEUED)
                return self._run_leased(job, owner, 0, context, final)
        return self.resume(ref.job_id, 0, context, final)

    def resume(self, job_id: str, hop: int, context: LambdaContext, final: bool = False) -> Report:
        """A job that exists: take its lease (unless finished or held) and run it from its cursor."""
        run = self.run
        log_job(job_id)
        owner, until = run.lease(context)
        try:
            job = run.ports.jobs.acquire(job_id, owner, until, run.clock(), hop)
        except (JobFinishedError, JobNotFoundError) as exc:
            logger.info("job not run", extra={"reason": str(exc)})
            return Report(job_id, "skipped")
        run.ports.events.changed(job, JobStatus.RUNNING, job.extra.get("previous_status"))
        return self._run_leased(job, owner, hop, context, final)

    def _head(self, ref: ObjectRef) -> ObjectInfo | None:
        try:
            return self.run.ports.objects.head(ref.bucket, ref.key, ref.version_id)
        except InputFileError:
            return None  # gone or unreadable: the job will fail with the reason when it reads

    def _run_leased(
        self, job: Job, owner: str, hop: int, context: LambdaContext, final: bool
    ) -> Report:
        try:
            return self._run(job, owner, hop, context, final)
        except LeaseLostError:
            raise
        except Exception:
            self.run.ports.jobs.release_if_owner(job.job_id, owner)
            raise

    def _run(self, job: Job, owner: str, hop: int, context: LambdaContext, final: bool) -> Report:
        run, c, p = self.run, self.run.config, self.run.ports
        ledger = run.ledger(job, owner)
        if hop > c.max_hops:
            failure = Failure(
                Kind.FILE,
                "RunawayJob",
                f"stopped after {c.max_hops} continuations (LOADER_MAX_HOPS)",
            )
            return run.fail(ledger, failure)
        if job.cursor.state.get(DONE):
            return run.finish(ledger, job.cursor, job.size)
        counter = ByteCounter()
        try:
            limits = p.stream.limits(c.max_request_kib)
            if self.split is not None:  # a job cut into ranges: its ledger is its ranges' to clear
                claimed = self.split(ledger, hop, limits)
                if claimed is not None:
                    return claimed
            # Items past the checkpoint are a crashed run's: a job that was only queued has none.
            fresh = job.extra.get("previous_status") == JobStatus.QUEUED and job.cursor.seq == 0
            if not fresh:
                cleared = p.records.delete_from(
                    job.job_id, job.cursor.seq, fence=p.jobs.fence(owner)
                )
                if cleared:
                    logger.info("cleared ledger items past the checkpoint",
                                extra={"items": cleared, "seq": job.cursor.seq})  # fmt: skip
            sender = run.sender(job, limits)
            batcher = Batcher.for_sender(limits, sender.routing, len(sender.shard_map))
            if not resend_failed(run, ledger, sender, limits, context):
                return self._continue(ledger, job.cursor, job.bytes_read, hop)
            entries, state, start = self._open_input(job, limits, counter)
        except LeaseLostError:
            raise
        except Exception as exc:
            return self._stop(ledger, exc, None, job.bytes_read, final)
        units = make_units(entries, batcher, state, job.cursor.seq)
        end = stream(run, ledger, sender, units, context, lambda: start + counter.count)
        if end.error is not None:
            resume = end.settled.resume if end.settled is not None else None
            return self._stop(ledger, end.error, resume, end.bytes_read, final)
        if end.more and end.settled is not None:
            return self._continue(ledger, end.settled.resume, end.bytes_read, hop)
        assert end.settled is not None and end.settled.last
        return run.finish(ledger, end.settled.resume, job.size)

    def _continue(self, ledger: Ledger, cursor: Any, bytes_read: int, hop: int) -> Report:
        """Time is short: checkpoint, hand the lease back and queue the next hop."""
        job = ledger.job
        ledger.checkpoint(cursor, bytes_read, release=True)
        self.run.ports.ingest_queue.send(continuation_body(job.job_id, hop + 1))
        logger.info("continuing in a new invocation", extra={"hop": hop + 1, "seq": cursor.seq})
        return Report(job.job_id, "continued", ledger.totals)

    def _stop(
        self, ledger: Ledger, exc: BaseException, resume: Any, bytes_read: int, final: bool
    ) -> Report:
        """Reading or sending stopped on `exc`: settle what was settled, then fail or hand back.

        A file failure fails the job now, counting what of the broken batch went out. An
        infrastructure failure checkpoints the batches that settled (`resume`: after the last), so the
        redelivery resends at most the batch in flight, and is raised for the queue; on the last
        delivery it fails the job first.
        """
        failure = classify(exc)
        cursor = resume if resume is not None else ledger.job.cursor
        if failure.retriable and not final:
            if resume is not None:
                ledger.checkpoint(cursor, bytes_read, release=True)
            raise exc
        partial = settled_before(exc)
        if partial is not None:
            ledger.settle_partial(partial)
        report = self.run.fail(ledger, failure, cursor, bytes_read)
        if failure.retriable:
            raise exc
        if failure.code == "InternalError":
            logger.error("unexpected error", exc_info=exc)
        return report

    def _open_input(
        self, job: Job, limits: KinesisLimits, counter: ByteCounter
    ) -> tuple[Iterator[Any], dict[str, Any], int]:
        cursor, key_field = job.cursor, job.partition_key_field
        plain_resume = (
            cursor.offset > 0 and "format" in cursor.state and not cursor.state.get("compression")
        )
        start = cursor.offset if plain_resume else 0
        chunks = self.run.ports.objects.chunks(
            job.bucket, job.key, version_id=job.version_id, etag=job.etag, start=start,
            counter=counter,
        )  # fmt: skip
        options = ReadOptions(
            max_record_bytes=limits.effective_record_bytes,
            format=job.extra.get("format_option"),
            keep_value=bool(key_field),
        )
        records = open_records(chunks, job.key, options, cursor, positioned=plain_resume)
        if key_field and records.format == TEXT:
            raise ConfigError(
                f"text records have no fields: partition-key field {key_field!r} does not apply"
            )
        return to_entries(records, self.run.key_of(job), limits), records.state, start


def _same_etag(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip('"') == b.strip('"')  # type: ignore[union-attr]
