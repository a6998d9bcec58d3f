"""The ingest service: open the job (idempotently), take its lease, stream, settle, continue or finish."""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from shared.boundary import settle_failure
from shared.config import LoaderConfig
from shared.delivery.batches import Batcher
from shared.delivery.options import META_AGGREGATE, META_FORMAT, META_KEY_FIELD, META_ORDERING
from shared.delivery.packing import to_entries
from shared.delivery.partition_keys import field_key, record_id_key
from shared.delivery.routing import PER_KEY
from shared.delivery.sending import Sender, settled_before
from shared.domain.errors import (
    ConfigError,
    InputFileError,
    JobBusyError,
    JobFinishedError,
    JobNotFoundError,
    LeaseLostError,
    LedgerError,
    RecordError,
)
from shared.domain.failures import Failure, Kind, classify, dead_lettered
from shared.domain.jobs import (
    COMPLETED,
    COMPLETED_WITH_ERRORS,
    FAILED,
    QUEUED,
    REC_FAILED,
    RETRYING,
    RUNNING,
    SENT,
    Counts,
    Job,
    LedgerItem,
    ObjectRef,
)
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, ObjectInfo
from shared.domain.timestamps import now_iso
from shared.job_sender import make_sender
from shared.observability import log_job, logger
from shared.ports import (
    JobEventSink,
    JobStore,
    LambdaContext,
    LedgerMoves,
    MessageQueue,
    ObjectStore,
    RangeStore,
    RecordLedger,
    RetryLeases,
    Stream,
)
from shared.readers import ReadOptions, open_records
from shared.readers.detect import TEXT
from shared.readers.source import ByteCounter
from shared.resend import entry_of, sent_move, still_failed_move
from shared.retry.messages import RetryRequest

from .fanout import FanOutRuns
from .ledger import Ledger, Report
from .messages import Continuation, Message, RangeTask, continuation_body
from .small import SmallFile, SmallFiles
from .units import DONE, Unit, make_units

RESEND_PAGE = 500


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


@dataclass(slots=True)
class Streamed:
    """How a run's streaming ended: the last unit settled, the position read to, and why it stopped."""

    settled: Unit | None
    bytes_read: int
    error: BaseException | None = None
    more: bool = False


class IngestService:
    def __init__(
        self,
        config: LoaderConfig,
        ports: IngestPorts,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config, self.ports = config, ports
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep

    # -- a batch's small files, together ------------------------------------------------
    def small_file(self, message: Message) -> bool:
        """Whether a message is a small object's event that can run with others (its version known,
        its size at most LOADER_SMALL_FILE_BYTES)."""
        c = self.config
        return (
            isinstance(message, ObjectRef)
            and c.small_file_bytes > 0
            and message.version_id is not None
            and message.size is not None
            and message.size <= c.small_file_bytes
            and message.key.startswith(c.incoming_prefix)
            and not message.key.startswith(c.spill_prefix)
        )

    def run_small(
        self, files: list[SmallFile], context: LambdaContext
    ) -> tuple[set[str], list[SmallFile]]:
        """Small files' records in shared requests; returns the message ids to redeliver and the
        files left to the regular path."""
        try:
            return SmallFiles(self).run(files, context)
        finally:
            self.ports.events.flush()

    def hand_on(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put SQS records' bodies back on the ingest queue as fresh messages, each for an invocation
        of its own; returns the records that were not (a malformed body, a refused send): those run
        here, after the first."""
        kept: list[dict[str, Any]] = []
        for record in records:
            try:
                body = orjson.loads(record["body"])
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                self.ports.ingest_queue.send(body)
            except Exception as exc:  # the regular path reports a malformed body or fails the send
                logger.info("message kept in this invocation", extra={"reason": str(exc)})
                kept.append(record)
        logger.info("messages handed on", extra={"messages": len(records) - len(kept)})
        return kept

    def finish_job(self, ledger: Ledger, cursor: Any, size: int) -> Report:
        return self._finish(ledger, cursor, size)

    def fail_job(self, ledger: Ledger, failure: Failure, cursor: Any, bytes_read: int) -> Report:
        return self._fail(ledger, failure, cursor, bytes_read)

    # -- entry points -----------------------------------------------------------
    def handle(self, message: Message, context: LambdaContext, final: bool = False) -> Report:
        """One message. `final`: its last delivery, so a job must not be left unfinished by it.

        The boundary of the function: a failure of the file fails its job at once (repeating cannot
        help); an infrastructure failure is raised for the queue to redeliver, and on the last
        delivery fails the job first, leaving the message to the dead-letter queue for inspection.
        """
        job_id = message.job_id
        try:
            if isinstance(message, Continuation):
                return self.run(job_id, message.hop, context, final)
            if isinstance(message, RangeTask):
                if self.ports.ranges is None:
                    raise ConfigError("a range message reached an ingest without ranges")
                return FanOutRuns(self).handle(message, context, final)
            return self.open(message, context, final)
        except (LeaseLostError, JobBusyError) as exc:
            # Another invocation holds the job: it may die holding it, with this very message (a
            # redelivery while it runs), so the message comes back later, unless this is its last
            # delivery (the holder then ends the job, or the holder's own message does).
            if final:
                logger.warning(
                    "job held by another invocation; message dropped", extra={"reason": str(exc)}
                )
                return Report(job_id, "skipped")
            logger.info("job held by another invocation; the message comes back later",
                        extra={"reason": str(exc)})  # fmt: skip
            raise
        except Exception as exc:
            settle_failure(exc, final, lambda failure: self._fail_unfinished(message, failure))
            return Report(job_id, FAILED)
        finally:
            self.ports.events.flush()

    def settle_dead_letter(self, message: Message, receives: object) -> None:
        """A message the queue gave up on (from the dead-letter queue): its job must not stay
        unfinished. It is failed (created first when no delivery got that far), unless a live
        invocation holds it (that one ends it); a job cut into ranges whose range task is dead
        cannot finish either."""
        log_job(message.job_id)
        c = self.config
        if isinstance(message, ObjectRef) and (
            not message.key.startswith(c.incoming_prefix) or message.key.startswith(c.spill_prefix)
        ):
            return  # never a job's
        try:
            self._fail_unfinished(message, dead_lettered(receives))
        finally:
            self.ports.events.flush()

    def _fail_unfinished(self, message: Message, failure: Failure) -> None:
        jobs = self.ports.jobs
        if isinstance(message, ObjectRef) and jobs.get(message.job_id) is None:
            jobs.create(message, message.size or 0, None, None, now_iso())
        self.fail_unfinished(message.job_id, failure, cut=isinstance(message, RangeTask))

    def fail_unfinished(self, job_id: str, failure: Failure, *, cut: bool = False) -> None:
        """Fail a job that is not finished, unless a live invocation holds its lease (that one ends
        it). A job cut into ranges (`cut`) is leased only for moments (its cut, a duplicate event's
        run), by nobody who carries on a range's part: the failure is raised for the redelivery to
        fail it then, never leaving it running."""
        jobs = self.ports.jobs
        was = jobs.fail_unfinished(
            job_id, failure.job_error, failure.code, (QUEUED, RUNNING), self.clock()
        )
        if was is not None:
            was.error = failure.job_error
            self.ports.events.changed(was, FAILED, was.status)
        elif cut:
            job = jobs.get(job_id)
            if job is not None and job.status == RUNNING:
                raise LedgerError(f"{failure.job_error} (the job was leased; failing it again)")

    def open(self, ref: ObjectRef, context: LambdaContext, final: bool = False) -> Report:
        """A fresh upload: create its job unless a duplicate event already did, then run it."""
        c = self.config
        if not ref.key.startswith(c.incoming_prefix) or ref.key.startswith(c.spill_prefix):
            logger.info("object outside the incoming prefix ignored", extra={"key": ref.key})
            return Report(ref.job_id, "ignored")
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
        if self.ports.jobs.get(ref.job_id) is None:
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
            owner, until = self.lease(context)
            job = self.ports.jobs.create_running(ref, size, options, owner, until, now_iso())
            logger.info(
                "job opened" if job else "job exists (duplicate event)", extra={"key": ref.key}
            )
            if job is not None:
                opened = Job(ref.job_id, ref.bucket, ref.key, ref.version_id, etag, size, QUEUED)
                self.ports.events.changed(opened, QUEUED, None)
                job.extra["previous_status"] = QUEUED
                self.ports.events.changed(job, RUNNING, QUEUED)
                return self._run_leased(job, owner, 0, context, final)
        return self.run(ref.job_id, 0, context, final)

    def lease(self, context: LambdaContext) -> tuple[str, float]:
        """An owner name for this invocation's lease, and when the lease runs out."""
        owner = f"{context.aws_request_id}:{uuid.uuid4().hex[:8]}"
        remaining = context.get_remaining_time_in_millis() / 1000
        return owner, self.clock() + remaining + self.config.lease_grace_seconds

    def _head(self, ref: ObjectRef) -> ObjectInfo | None:
        try:
            return self.ports.objects.head(ref.bucket, ref.key, ref.version_id)
        except InputFileError:
            return None  # gone or unreadable: the job will fail with the reason when it reads

    def run(self, job_id: str, hop: int, context: LambdaContext, final: bool = False) -> Report:
        log_job(job_id)
        owner, until = self.lease(context)
        try:
            job = self.ports.jobs.acquire(job_id, owner, until, self.clock(), hop)
        except (JobFinishedError, JobNotFoundError) as exc:
            logger.info("job not run", extra={"reason": str(exc)})
            return Report(job_id, "skipped")
        self.ports.events.changed(job, RUNNING, job.extra.get("previous_status"))
        return self._run_leased(job, owner, hop, context, final)

    def _run_leased(
        self, job: Job, owner: str, hop: int, context: LambdaContext, final: bool
    ) -> Report:
        try:
            return self._run(job, owner, hop, context, final)
        except LeaseLostError:
            raise
        except Exception:
            self.ports.jobs.release_if_owner(job.job_id, owner)
            raise

    # -- the job ------------------------------------------------------------------
    def _run(self, job: Job, owner: str, hop: int, context: LambdaContext, final: bool) -> Report:
        c, p = self.config, self.ports
        ledger = Ledger(job, owner, c, p.jobs, p.records, p.objects, self.monotonic)
        if hop > c.max_hops:
            failure = Failure(
                Kind.FILE,
                "RunawayJob",
                f"stopped after {c.max_hops} continuations (LOADER_MAX_HOPS)",
            )
            return self._fail(ledger, failure)
        if job.cursor.state.get(DONE):
            return self._finish(ledger, job.cursor, job.size)
        counter = ByteCounter()
        try:
            limits = p.stream.limits(c.max_request_kib)
            if p.ranges is not None:  # a job cut into ranges: its ledger is its ranges' to clear
                fanned = self._fan_out(ledger, hop, limits)
                if fanned is not None:
                    return fanned
            # Items past the checkpoint are a crashed run's: a job that was only queued has none.
            fresh = job.extra.get("previous_status") == QUEUED and job.cursor.seq == 0
            cleared = (
                0
                if fresh
                else p.records.delete_from(job.job_id, job.cursor.seq, fence=p.jobs.fence(owner))
            )
            if cleared:
                logger.info(
                    "cleared ledger items past the checkpoint",
                    extra={"items": cleared, "seq": job.cursor.seq},
                )
            sender = self.sender(job, limits)
            batcher = Batcher.for_sender(limits, sender.routing, len(sender.shard_map))
            if not self._resend_failed(ledger, sender, limits, context):
                return self._continue(ledger, job.cursor, job.bytes_read, hop)
            entries, state, start = self._open_input(job, limits, counter)
        except LeaseLostError:
            raise
        except Exception as exc:
            return self._stop(ledger, exc, None, job.bytes_read, final)
        units = make_units(entries, batcher, state, job.cursor.seq)
        end = self.stream(ledger, sender, units, context, lambda: start + counter.count)
        if end.error is not None:
            return self._stop(ledger, end.error, end.settled, end.bytes_read, final)
        if end.more and end.settled is not None:
            return self._continue(ledger, end.settled.resume, end.bytes_read, hop)
        assert end.settled is not None and end.settled.last
        return self._finish(ledger, end.settled.resume, job.size)

    def _continue(self, ledger: Ledger, cursor: Any, bytes_read: int, hop: int) -> Report:
        """Time is short: checkpoint, hand the lease back and queue the next hop."""
        job = ledger.job
        ledger.checkpoint(cursor, bytes_read, release=True)
        self.ports.ingest_queue.send(continuation_body(job.job_id, hop + 1))
        logger.info("continuing in a new invocation", extra={"hop": hop + 1, "seq": cursor.seq})
        return Report(job.job_id, "continued", ledger.totals)

    def stream(
        self,
        ledger: Ledger,
        sender: Sender,
        units: Iterator[Unit],
        context: LambdaContext,
        position: Callable[[], int],
    ) -> Streamed:
        """Send units and settle them in order, checkpointing as due, until the input ends, time runs
        short (`more`) or something fails (`error`: the units in flight settle first)."""
        c = self.config
        end = self.monotonic() + context.get_remaining_time_in_millis() / 1000
        deadline, start_by = end - c.time_margin_seconds / 2, end - c.time_margin_seconds
        pending: deque[Unit] = deque()
        stop: dict[str, Any] = {}

        def requests() -> Iterator[list[Entry]]:
            try:
                for unit in units:
                    pending.append(unit)
                    yield unit.entries
                    if unit.last:
                        return
                    if context.get_remaining_time_in_millis() / 1000 < c.time_margin_seconds:
                        stop["continue"] = True
                        return
            except Exception as exc:
                stop["error"] = exc  # in-flight requests still settle before the job stops

        settled: Unit | None = None
        try:
            for outcome in sender.send_all(requests(), deadline, start_by):
                unit = pending.popleft()
                ledger.settle(unit, outcome)
                settled = unit
                ledger.flush_if_full()
                if not unit.last and ledger.due():
                    ledger.checkpoint(unit.resume, position())
        except LeaseLostError:
            raise
        except Exception as exc:
            stop["error"] = exc
        if pending and "error" not in stop:
            stop["continue"] = (
                True  # time ran short before a batch drawn was sent: it is read again
            )
        return Streamed(settled, position(), stop.get("error"), "continue" in stop)

    def _fan_out(self, ledger: Ledger, hop: int, limits: KinesisLimits) -> Report | None:
        """A job cut into ranges runs as its ranges; a fresh one big enough is cut now."""
        job, runs = ledger.job, FanOutRuns(self)
        if "fanout" in job.extra:
            fan = runs.ranges.fanout(job.job_id)
            if fan is not None:
                return runs.resume(ledger, fan)
        if hop == 0 and job.cursor.offset == 0 and job.cursor.seq == 0:
            fan = runs.plan(job, limits)
            if fan is not None:
                return runs.start(ledger, fan)
        return None

    def key_of(self, job: Job) -> Callable[[Any], str]:
        """The partition key of a job's records: its field's value, or `<job id>:<seq>`."""
        key_field = job.partition_key_field
        return field_key(key_field) if key_field else record_id_key(job.job_id)

    def _resend_failed(
        self, ledger: Ledger, sender: Sender, limits: KinesisLimits, context: LambdaContext
    ) -> bool:
        """Per-key order across invocations: records an earlier invocation of this job gave up on
        (ledgered `failed`, before the checkpoint) go out again before anything newer is read. Those
        still failing stay for the retry rounds; one that cannot be sent (its payload gone) too.

        Only where order asks it: a field's keys (the default key, unique per record, needs nothing
        of earlier failures). It runs under the job's retry lease, so a retry round never sends the
        same records at once (a round that holds the lease has them; this pass is skipped). Returns
        False when time ran short before the pass was through: the job continues in a fresh
        invocation, which resends the rest before reading on.
        """
        job, p = ledger.job, self.ports
        if p.moves is None or sender.routing.ordering != PER_KEY or not job.partition_key_field:
            return True
        if not job.counts.failed or not job.cursor.seq:
            return True
        owner, until = self.lease(context)
        if p.retry_lease is not None and not p.retry_lease.acquire(
            job.job_id, owner, until, self.clock()
        ):
            logger.info("failed records left to the retry round that holds them")
            return True
        try:
            return self._resend_pages(ledger, sender, limits, context)
        finally:
            if p.retry_lease is not None:
                p.retry_lease.release(job.job_id, owner)

    def _resend_pages(
        self, ledger: Ledger, sender: Sender, limits: KinesisLimits, context: LambdaContext
    ) -> bool:
        job, p = ledger.job, self.ports
        assert p.moves is not None
        start: dict[str, Any] | None = None
        recovered, through = 0, True
        remaining = context.get_remaining_time_in_millis() / 1000
        deadline = (
            self.monotonic() + remaining - self.config.time_margin_seconds
        )  # as a retry round
        while True:  # a page at least, so each invocation moves the job on
            page, start = p.records.by_status(job.job_id, REC_FAILED, RESEND_PAGE, start)
            by_seq: dict[int, LedgerItem] = {}
            entries: list[Entry] = []
            for item in page:
                if item.seq >= job.cursor.seq:
                    continue
                try:
                    entries.append(entry_of(item, p.objects, self.config.bucket, limits))
                except RecordError:
                    continue  # the retry path makes it dead, with its reason
                by_seq[item.seq] = item
            # a batch at a time, each settled before the next goes out (a crash re-sends at most
            # the requests in flight)
            for batch in Batcher.for_sender(limits, sender.routing, len(sender.shard_map)).batches(
                entries
            ):
                outcome = sender.send_batch(batch, deadline)
                now = now_iso()
                moves = [sent_move(by_seq[s.entry.seq], s, now, retry=False) for s in outcome.sent]
                moves += [still_failed_move(by_seq[f.entry.seq], f, now) for f in outcome.failed]
                applied = p.moves.apply(job.job_id, moves)
                recovered += sum(1 for m in applied if m.values["status"] == SENT)
            if not start:
                break
            if context.get_remaining_time_in_millis() / 1000 < self.config.time_margin_seconds:
                through = False
                break
        fresh = p.jobs.get(job.job_id)
        if fresh is not None:
            job.counts = fresh.counts  # the moves changed the counters in the table
        if recovered or not through:
            logger.info(
                "failed records resent before reading on",
                extra={"recovered": recovered, "through": through},
            )
        return through

    def sender(self, job: Job, limits: KinesisLimits) -> Sender:
        """The sender for this job's options (a bad option is a ConfigError: the job fails with it)."""
        c = self.config
        return make_sender(
            c, self.ports.stream, job, limits, c.max_attempts, self.monotonic, self.sleep
        )

    def _stop(
        self,
        ledger: Ledger,
        exc: BaseException,
        settled: Unit | None,
        bytes_read: int,
        final: bool,
    ) -> Report:
        """Reading or sending stopped on `exc`: settle what was settled, then fail or hand back.

        A file failure fails the job now, counting what of the broken batch went out. An
        infrastructure failure checkpoints the batches that settled, so the redelivery resends at most
        the batch in flight, and is raised for the queue; on the last delivery it fails the job first.
        """
        failure = classify(exc)
        cursor = settled.resume if settled is not None else ledger.job.cursor
        if failure.retriable and not final:
            if settled is not None:
                ledger.checkpoint(cursor, bytes_read, release=True)
            raise exc
        partial = settled_before(exc)
        if partial is not None:
            ledger.settle_partial(partial)
        report = self._fail(ledger, failure, cursor, bytes_read)
        if failure.retriable:
            raise exc
        if failure.code == "InternalError":
            logger.error("unexpected error", exc_info=exc)
        return report

    def _open_input(
        self, job: Job, limits: KinesisLimits, counter: ByteCounter
    ) -> tuple[Iterator[Any], dict[str, Any], int]:
        cursor = job.cursor
        key_field = job.partition_key_field
        plain_resume = (
            cursor.offset > 0 and "format" in cursor.state and not cursor.state.get("compression")
        )
        start = cursor.offset if plain_resume else 0
        chunks = self.ports.objects.chunks(
            job.bucket,
            job.key,
            version_id=job.version_id,
            etag=job.etag,
            start=start,
            counter=counter,
        )
        options = ReadOptions(
            max_record_bytes=limits.effective_record_bytes,
            format=job.extra.get("format_option"),
            keep_value=bool(key_field),
        )
        stream = open_records(chunks, job.key, options, cursor, positioned=plain_resume)
        if key_field and stream.format == TEXT:
            raise ConfigError(
                f"text records have no fields: partition-key field {key_field!r} does not apply"
            )
        return to_entries(stream, self.key_of(job), limits), stream.state, start

    def _finish(self, ledger: Ledger, cursor: Any, size: int) -> Report:
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
                cursor, size, status=RETRYING, unless_none_failed=finished_status
            )
        else:
            status = ledger.checkpoint(cursor, size, status=finished_status(counts))
        assert status is not None
        self.ports.events.changed(job, status, RUNNING)
        logger.info("input read", extra={"status": status, "counts": counts.as_dict()})
        return Report(job.job_id, status, ledger.totals)

    def _fail(
        self, ledger: Ledger, failure: Failure, cursor: Any = None, bytes_read: int | None = None
    ) -> Report:
        job = ledger.job
        ledger.checkpoint(
            cursor or job.cursor,
            job.bytes_read if bytes_read is None else bytes_read,
            status=FAILED,
            error=failure.job_error,
            error_code=failure.code,
        )
        job.error = failure.job_error
        self.ports.events.changed(job, FAILED, RUNNING)
        logger.error("job failed", extra={"error": failure.job_error, "error_code": failure.code})
        return Report(job.job_id, FAILED, ledger.totals)


def finished_status(counts: Counts) -> str:
    """How a job ends once nothing is failed."""
    return COMPLETED_WITH_ERRORS if counts.rejected or counts.dead else COMPLETED


def _same_etag(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip('"') == b.strip('"')  # type: ignore[union-attr]
