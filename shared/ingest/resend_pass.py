"""Per-key order across invocations: the records an earlier invocation of a keyed job gave up on go
out again before anything newer is read."""

from __future__ import annotations

from typing import Any

from shared.delivery.batches import Batcher
from shared.delivery.routing import PER_KEY
from shared.delivery.sending import Sender
from shared.domain.errors import RecordError
from shared.domain.jobs import LedgerItem, RecordStatus
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry
from shared.domain.timestamps import now_iso
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import logger
from shared.ledger.resend import entry_of, sent_move, still_failed_move

from .context import RunContext
from .ledger import Ledger

RESEND_PAGE = 500


def resend_failed(
    run: RunContext, ledger: Ledger, sender: Sender, limits: KinesisLimits, context: LambdaContext
) -> bool:
    """Records an earlier invocation of this job gave up on (ledgered `failed`, before the
    checkpoint) go out again before anything newer is read. Those still failing stay for the retry
    rounds; one that cannot be sent (its payload gone) too.

    Only where order asks it: a field's keys (the default key, unique per record, needs nothing of
    earlier failures). It runs under the job's retry lease, so a retry round never sends the same
    records at once (a round that holds the lease has them; this pass is skipped). Returns False
    when time ran short before the pass was through: the job continues in a fresh invocation, which
    resends the rest before reading on.
    """
    job, p = ledger.job, run.ports
    if p.moves is None or sender.routing.ordering != PER_KEY or not job.partition_key_field:
        return True
    if not job.counts.failed or not job.cursor.seq:
        return True
    owner, until = run.lease(context)
    if p.retry_lease is not None and not p.retry_lease.acquire(
        job.job_id, owner, until, run.clock()
    ):
        logger.info("failed records left to the retry round that holds them")
        return True
    try:
        return _resend_pages(run, ledger, sender, limits, context)
    finally:
        if p.retry_lease is not None:
            p.retry_lease.release(job.job_id, owner)


def _resend_pages(
    run: RunContext, ledger: Ledger, sender: Sender, limits: KinesisLimits, context: LambdaContext
) -> bool:
    job, p, margin = ledger.job, run.ports, run.config.time_margin_seconds
    assert p.moves is not None
    start: dict[str, Any] | None = None
    recovered, through = 0, True
    remaining = context.get_remaining_time_in_millis() / 1000
    deadline = run.monotonic() + remaining - margin  # as a retry round's
    batcher = Batcher.for_sender(limits, sender.routing, len(sender.shard_map))
    while True:  # a page at least, so each invocation moves the job on
        page, start = p.records.by_status(job.job_id, RecordStatus.FAILED, RESEND_PAGE, start)
        by_seq: dict[int, LedgerItem] = {}
        entries: list[Entry] = []
        for item in page:
            if item.seq >= job.cursor.seq:
                continue
            try:
                entries.append(entry_of(item, p.objects, run.config.bucket, limits))
            except RecordError:
                continue  # the retry path makes it dead, with its reason
            by_seq[item.seq] = item
        # a batch at a time, each settled before the next goes out (a crash re-sends at most the
        # requests in flight)
        for batch in batcher.batches(entries):
            outcome = sender.send_batch(batch, deadline)
            now = now_iso()
            moves = [sent_move(by_seq[s.entry.seq], s, now, retry=False) for s in outcome.sent]
            moves += [still_failed_move(by_seq[f.entry.seq], f, now) for f in outcome.failed]
            applied = p.moves.apply(job.job_id, moves)
            recovered += sum(1 for m in applied if m.values["status"] == RecordStatus.SENT)
        if not start:
            break
        if context.get_remaining_time_in_millis() / 1000 < margin:
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
