"""Small files together: the records of a batch's small objects share PutRecords requests, while
each job's counters, ledger items and final status stay its own and exact.

A small job costs two DynamoDB writes when nothing fails: it is opened already running under this
invocation's lease (one conditional PutItem, which also tells a duplicate event apart), and finished
with its counts, cursor and status (one UpdateItem). Its object is read with one GetObject, whose
response carries the metadata a HeadObject would have. Whatever does not fit this path (a job that
exists, an object that cannot be read, a message without a version) goes the regular way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.delivery.batches import Batcher
from shared.delivery.options import META_AGGREGATE, META_FORMAT, META_KEY_FIELD, META_ORDERING
from shared.delivery.outcomes import Failed, RequestOutcome, Sent
from shared.delivery.packing import to_entries
from shared.domain.errors import ConfigError, LeaseLostError
from shared.domain.failures import Failure, classify
from shared.domain.jobs import Job, JobStatus, ObjectRef
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor, Entry, Rejection
from shared.domain.timestamps import now_iso
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger
from shared.readers import ReadOptions, open_records
from shared.readers.detect import TEXT

from .context import RunContext
from .ledger import Ledger
from .units import DONE, Unit


@dataclass(slots=True)
class SmallFile:
    """One message of the batch: a small object's event."""

    message_id: str
    ref: ObjectRef
    final: bool = False
    record: dict[str, Any] = field(default_factory=dict)  # the SQS record it came in


@dataclass(slots=True)
class _Job:
    file: SmallFile
    job: Job
    data: bytes
    ledger: Ledger
    sent: list[Sent] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    records: int = 0
    next_seq: int = 0
    state: dict[str, object] = field(default_factory=dict)
    failure: Failure | None = None
    finished: bool = False


@dataclass(slots=True)
class _Group:
    entries: list[Entry]
    rejections: list[tuple[_Job, Rejection]]
    ends: list[_Job]


class SmallFiles:
    def __init__(self, run: RunContext) -> None:
        self.run = run

    def handle(
        self, files: list[SmallFile], context: LambdaContext
    ) -> tuple[set[str], list[SmallFile]]:
        """Run the files together. Returns the message ids to redeliver, and the files left to the
        regular path (their messages are handled one by one after this)."""
        s, p = self.run, self.run.ports
        owner, lease_until = s.lease(context)
        regular: list[SmallFile] = []
        opened: list[_Job] = []
        for f in files:
            try:
                data, info = p.objects.get(f.ref.bucket, f.ref.key, f.ref.version_id or "")
            except Exception:
                regular.append(f)  # the regular path reads, and fails the job with the reason
                continue
            c = s.config
            meta = info.metadata
            options = {
                "format": meta.get(META_FORMAT) or c.default_format,
                "partition_key_field": meta.get(META_KEY_FIELD) or c.default_partition_key_field,
                "ordering": meta.get(META_ORDERING) or c.default_ordering,
                "aggregate": meta.get(META_AGGREGATE) or str(c.default_aggregate).lower(),
            }
            ref = ObjectRef(f.ref.bucket, f.ref.key, f.ref.version_id,
                            f.ref.etag or info.etag, len(data), f.ref.sequencer)  # fmt: skip
            job = p.jobs.create_running(ref, len(data), options, owner, lease_until, now_iso())
            if job is None:
                regular.append(f)  # a duplicate event, or a job another invocation opened
                continue
            p.events.changed(job, JobStatus.QUEUED, None)
            p.events.changed(job, JobStatus.RUNNING, JobStatus.QUEUED)
            ledger = s.ledger(job, owner)
            opened.append(_Job(f, job, data, ledger))
        if not opened:
            return set(), regular
        logger.info("small files together", extra={"files": len(opened)})
        by_options: dict[tuple[object, object], list[_Job]] = {}
        for j in opened:
            by_options.setdefault(
                (j.job.extra.get("ordering"), j.job.extra.get("aggregate")), []
            ).append(j)
        redeliver: set[str] = set()
        for group in by_options.values():
            back, handed = self._send(group, context)
            redeliver |= back
            regular += handed
        return redeliver, regular

    # -- one group of jobs with the same options ------------------------------------------
    def _send(self, jobs: list[_Job], context: LambdaContext) -> tuple[set[str], list[SmallFile]]:
        """Send a group's records; returns the messages to redeliver and the files handed to the
        regular path. A job's records never straddle two batches, so a crash re-sends at most the
        batch in flight: a job with more records than a batch holds goes the regular way (which
        checkpoints batch by batch), its lease released for it."""
        s, p = self.run, self.run.ports
        limits = p.stream.limits(s.config.max_request_kib)
        try:
            sender = s.sender(jobs[0].job, limits)
        except ConfigError as exc:
            for j in jobs:
                j.failure = classify(exc)
                self._finish(j)
            return set(), []
        batcher = Batcher.for_sender(limits, sender.routing, len(sender.shard_map))
        owners: dict[int, _Job] = {}
        pending: list[_Group] = []
        handed: list[_Job] = []
        deadline = (
            s.monotonic()
            + context.get_remaining_time_in_millis() / 1000
            - s.config.time_margin_seconds / 2
        )

        def groups() -> Iterator[list[Entry]]:
            rejections: list[tuple[_Job, Rejection]] = []
            ends: list[_Job] = []
            for j, items in self._read(jobs, limits):
                entries = [i for i in items if isinstance(i, Entry)]
                if not batcher.fits(entries):
                    last = batcher.flush()
                    if last:
                        pending.append(_Group(last, rejections, ends))
                        rejections, ends = [], []
                        yield last
                    if not batcher.fits(entries):
                        handed.append(j)
                        continue
                for item in items:
                    if isinstance(item, Rejection):
                        rejections.append((j, item))
                        continue
                    owners[id(item)] = j
                    full = batcher.add(item)
                    if full:
                        pending.append(_Group(full, rejections, ends))
                        rejections, ends = [], []
                        yield full
                ends.append(j)
            last = batcher.flush() or []
            pending.append(_Group(last, rejections, ends))
            yield last

        try:
            for outcome in sender.send_all(groups(), deadline):
                self._settle(pending.pop(0), outcome, owners)
        except LeaseLostError:
            raise
        except Exception as exc:
            return self._stopped([j for j in jobs if j not in handed], exc), self._hand(handed)
        return set(), self._hand(handed)

    def _hand(self, handed: list[_Job]) -> list[SmallFile]:
        for j in handed:
            self.run.ports.jobs.release_if_owner(j.job.job_id, j.ledger.owner)
        if handed:
            logger.info("small files with many records go the regular way",
                        extra={"files": len(handed)})  # fmt: skip
        return [j.file for j in handed]

    def _read(
        self, jobs: list[_Job], limits: KinesisLimits
    ) -> Iterator[tuple[_Job, list[Entry | Rejection]]]:
        """Each job's keyed records, read whole (a small object is in memory already); a file that
        cannot be read ends where it broke, its failure kept."""
        for j in jobs:
            job = j.job
            key_field = job.partition_key_field
            items: list[Entry | Rejection] = []
            try:
                options = ReadOptions(max_record_bytes=limits.effective_record_bytes,
                                      format=job.extra.get("format_option"), keep_value=bool(key_field))  # fmt: skip
                stream = open_records(iter((j.data,)), job.key, options, Cursor())
                if key_field and stream.format == TEXT:
                    raise ConfigError(
                        f"text records have no fields: partition-key field {key_field!r} does not apply"
                    )
                key = self.run.key_of(job)
                for item in to_entries(stream, key, limits):
                    j.records += 1
                    j.next_seq = item.seq + 1
                    items.append(item)
                j.state = dict(stream.state)
            except Exception as exc:
                j.failure = classify(exc)
            yield j, items

    def _settle(self, group: _Group, outcome: RequestOutcome, owners: dict[int, _Job]) -> None:
        for sent in outcome.sent:
            owners.pop(id(sent.entry)).sent.append(sent)
        for failed in outcome.failed:
            owners.pop(id(failed.entry)).failed.append(failed)
        for j, rejection in group.rejections:
            j.rejections.append(rejection)
        for j in group.ends:
            self._finish(j)

    def _finish(self, j: _Job) -> None:
        """Settle the job's records (all of them are settled when its end is) and finish it."""
        log_job(j.job.job_id)
        cursor = Cursor(0, j.next_seq, 0, {**j.state, DONE: True})
        read = [s.entry for s in j.sent] + [f.entry for f in j.failed]
        outcome = RequestOutcome(sent=j.sent, failed=j.failed, calls=1 if read else 0)
        j.ledger.settle(Unit(read, j.rejections, cursor, last=True), outcome)
        size = len(j.data)
        if j.failure is not None:
            self.run.fail(j.ledger, j.failure, cursor, size)
        else:
            self.run.finish(j.ledger, cursor, size)
        j.finished = True
        log_job(None)

    def _stopped(self, jobs: list[_Job], exc: Exception) -> set[str]:
        """Sending stopped: an infrastructure error hands the unfinished jobs back to the queue (their
        leases released, so the redelivery resumes at once from their start), except on a message's
        last delivery, when its job fails; any other error fails them now."""
        failure = classify(exc)
        redeliver: set[str] = set()
        for j in jobs:
            if j.finished:
                continue
            if failure.retriable and not j.file.final:
                self.run.ports.jobs.release_if_owner(j.job.job_id, j.ledger.owner)
                redeliver.add(j.file.message_id)
                continue
            j.failure = failure  # its counts are what settled before the error
            self._finish(j)
        if redeliver:
            logger.warning(
                "small files handed back", extra={"files": len(redeliver), "error": failure.message}
            )
        return redeliver
