"""The ingest service on in-memory fakes: lease, checkpoints, continuation, failures, events."""

from __future__ import annotations

import pytest
from urllib3.exceptions import ProtocolError

from shared.config import LoaderConfig
from shared.domain.limits import KinesisLimits
from shared.ingest.messages import Continuation
from shared.ingest.service import IngestPorts, IngestService
from tests.fakes import FakeEvents, FakeJobs, FakeObjects, FakeQueue, FakeRecords, FakeStream
from tests.lambda_helpers import Countdown, FakeContext

BUCKET = "bucket"


def lines(n: int) -> bytes:
    return b"".join(b'{"i": %d}\n' % i for i in range(n))


@pytest.fixture
def ports() -> IngestPorts:
    return IngestPorts(FakeJobs(), FakeRecords(), FakeObjects(), FakeStream(), FakeQueue(),
                       FakeQueue(), FakeEvents())  # fmt: skip


def service(ports: IngestPorts, **settings) -> IngestService:
    config = LoaderConfig(bucket=BUCKET, stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry", ingest_queue_url="ingest", **settings)  # fmt: skip
    return IngestService(config, ports, sleep=lambda s: None)


def test_a_small_file_is_opened_sent_and_finished_with_its_events(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(30) + b"oops\n")
    report = service(ports).handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    assert (report.outcome, job.status) == ("completed_with_errors", "completed_with_errors")
    assert (job.counts.records, job.counts.sent, job.counts.rejected) == (31, 30, 1)
    assert [d for d, _ in ports.stream.records] == lines(30).splitlines()
    assert ports.events.published == [
        (ref.job_id, "queued", None), (ref.job_id, "running", "queued"),
        (ref.job_id, "completed_with_errors", "running"),
    ]  # fmt: skip
    [rejected] = ports.records.items.values()
    assert (rejected.seq, rejected.line, rejected.error_code) == (30, 31, "MalformedJson")


def test_a_duplicate_event_for_a_finished_job_does_nothing(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(5))
    service(ports).handle(ref, FakeContext())
    writes, events = ports.jobs.writes, list(ports.events.published)
    assert service(ports).handle(ref, FakeContext()).outcome == "skipped"
    assert (ports.jobs.writes, ports.events.published, len(ports.stream.records)) == (
        writes,
        events,
        5,
    )


def test_time_running_out_hands_over_to_a_continuation_that_finishes_without_duplicates(ports):
    ports.stream.limits_ = KinesisLimits(max_entries=10)
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    first = service(ports, time_margin_seconds=30).handle(
        ref, FakeContext(remaining_s=Countdown(60, 10))
    )
    assert first.outcome == "continued"
    [(body, _)] = ports.ingest_queue.sent
    assert body == {"type": "continue", "job_id": ref.job_id, "hop": 1}
    assert ports.jobs.get(ref.job_id).lease_owner is None  # released for the next hop
    rest = service(ports).handle(Continuation(ref.job_id, 1), FakeContext())
    assert rest.outcome == "completed"
    assert sorted(d for d, _ in ports.stream.records) == sorted(lines(100).splitlines())
    assert ports.jobs.get(ref.job_id).counts.sent == 100


def test_a_broken_file_fails_its_job_at_once_with_a_code(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.json", b'[{"a": 1}, {"b": 2}')
    report = service(ports).handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    assert (report.outcome, job.status, job.error_code) == ("failed", "failed", "CorruptInput")
    # what was still in the packer when the file broke is part of the file's failure, not sent
    assert job.counts.records == job.counts.sent == len(ports.stream.records) == 0
    assert job.lease_owner is None and "not closed" in job.error
    assert ports.events.published[-1] == (ref.job_id, "failed", "running")


def test_an_infrastructure_error_is_handed_back_and_the_last_delivery_fails_the_job(ports):
    calls = {"n": 0}

    def reset_after_fifty(entry):
        calls["n"] += 1
        if calls["n"] > 50:
            raise ProtocolError("connection reset")
        return None

    ports.stream.fail = reset_after_fifty
    ports.stream.limits_ = KinesisLimits(max_entries=10)
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    ingest = service(ports, checkpoint_every_requests=1, max_in_flight=1)
    with pytest.raises(ProtocolError):
        ingest.handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    # the first five batches (a request of 10 each: one lane) settled, each checkpointed; the
    # batch that broke is resent whole by the redelivery
    assert (job.status, job.lease_owner, job.cursor.seq, job.counts.sent) == (
        "running",
        None,
        50,
        50,
    )
    with pytest.raises(ProtocolError):  # the last delivery: fails the job, then on to the DLQ
        ingest.handle(ref, FakeContext(), final=True)
    job = ports.jobs.get(ref.job_id)
    assert (job.status, job.error_code) == ("failed", "ProtocolError")
    assert (
        job.error.startswith("gave up: ") and job.counts.sent == 50
    )  # resumed at 50, sent nothing more


def test_a_stream_that_refuses_fails_the_job_without_a_redelivery(ports):
    from shared.domain.errors import StreamFatalError

    def refuse(entry):
        raise StreamFatalError("ResourceNotFoundException", "no such stream")

    ports.stream.fail = refuse
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(3))
    report = service(ports).handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    assert (report.outcome, job.error_code) == ("failed", "StreamRefused")


def test_the_handler_runs_an_injected_service_on_an_s3_event(ports):
    from lambdas.ingest.handler import handler
    from tests.lambda_helpers import s3_notification, sqs_event

    ref = ports.objects.add(BUCKET, "incoming/h.jsonl", lines(4))
    note = s3_notification(BUCKET, ref.key, version_id=ref.version_id, etag=ref.etag, size=ref.size)
    event = sqs_event(note)
    assert handler(event, FakeContext(), service=service(ports)) == {"batchItemFailures": []}
    assert ports.jobs.get(ref.job_id).status == "completed" and len(ports.stream.records) == 4


def keyed_lines(n: int, keys: int = 7) -> bytes:
    return b"".join(b'{"k": %d, "i": %d}\n' % (i % keys, i) for i in range(n))


def given_up_first(ports, remaining_s=33):
    """A per-key job (field `k`) whose first invocation met an outage: its records were given up
    (ledgered failed) and it continued. Returns the ingest service and the job's reference."""
    from shared.delivery.outcomes import INTERNAL
    from tests.fakes import FakeLeases, FakeLedgerMoves

    ports.moves = FakeLedgerMoves(ports.jobs, ports.records)
    ports.retry_lease = FakeLeases(ports.jobs)
    ports.stream.down = True
    ports.stream.fail = lambda e: INTERNAL if ports.stream.down else None
    ports.stream.limits_ = KinesisLimits(max_entries=10)
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", keyed_lines(100))
    ingest = service(ports, max_attempts=2, max_in_flight=1, default_partition_key_field="k")
    first = ingest.handle(ref, FakeContext(remaining_s=Countdown(remaining_s, 1.0)))
    job = ports.jobs.get(ref.job_id)
    assert first.outcome == "continued" and job.counts.failed == job.cursor.seq > 0
    return ingest, ref


def sent_order(ports) -> list[int]:
    import json

    return [json.loads(d)["i"] for d, _ in ports.stream.records]


def test_a_continuation_sends_the_records_given_up_before_anything_newer(ports):
    ingest, ref = given_up_first(ports)
    given_up = ports.jobs.get(ref.job_id).cursor.seq
    # WHEN the stream is back and the continuation runs
    ports.stream.down = False
    rest = ingest.handle(Continuation(ref.job_id, 1), FakeContext())
    # THEN the given-up records went out first, in order, then the rest: nothing left to retry
    assert rest.outcome == "completed"
    assert sent_order(ports) == list(range(100))
    job = ports.jobs.get(ref.job_id)
    assert (job.counts.sent, job.counts.failed, job.status) == (100, 0, "completed")
    assert all(i.status == "sent" and i.recovered for i in ports.records.items.values())
    assert len(ports.records.items) == given_up
    assert ports.retry_lease.owner == {}  # the resend's retry lease is handed back


def test_the_resend_leaves_records_to_a_retry_round_that_holds_them(ports):
    ingest, ref = given_up_first(ports)
    given_up = ports.jobs.get(ref.job_id).cursor.seq
    ports.retry_lease.acquire(ref.job_id, "a retry round", until=1e12, now=0)
    ports.stream.down = False
    assert ingest.handle(Continuation(ref.job_id, 1), FakeContext()).outcome == "retrying"
    # the continuation read on; the failed records are the retry round's alone
    assert sent_order(ports) == list(range(given_up, 100))
    assert ports.jobs.get(ref.job_id).counts.failed == given_up


def test_a_resend_that_runs_out_of_time_continues_before_reading_on(ports, monkeypatch):
    ingest, ref = given_up_first(ports)
    job = ports.jobs.get(ref.job_id)
    cursor, given_up = job.cursor, job.cursor.seq
    ports.stream.down = False
    hops = len(ports.ingest_queue.sent)
    # pages of 5, and an invocation with time for a page or so (the margin is 30 s)
    monkeypatch.setattr("shared.ingest.resend_pass.RESEND_PAGE", 5)
    out = ingest.handle(Continuation(ref.job_id, 1), FakeContext(remaining_s=Countdown(34, 1.0)))
    assert out.outcome == "continued"
    job = ports.jobs.get(ref.job_id)
    assert job.cursor == cursor  # nothing newer read
    assert 0 < job.counts.failed < given_up
    assert len(ports.ingest_queue.sent) == hops + 1
    assert sent_order(ports) == list(range(given_up - job.counts.failed))
    done = ingest.handle(Continuation(ref.job_id, 2), FakeContext())
    assert done.outcome == "completed" and sent_order(ports) == list(range(100))


def test_with_the_default_key_failures_wait_for_the_retry_rounds(ports):
    # the default key is unique per record: order asks nothing of earlier failures
    from shared.delivery.outcomes import INTERNAL
    from tests.fakes import FakeLedgerMoves

    ports.moves = FakeLedgerMoves(ports.jobs, ports.records)
    down = {"on": True}
    ports.stream.fail = lambda e: INTERNAL if down["on"] else None
    ports.stream.limits_ = KinesisLimits(max_entries=10)
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    ingest = service(ports, max_attempts=2, max_in_flight=1)
    assert ingest.handle(ref, FakeContext(remaining_s=Countdown(33, 1.0))).outcome == "continued"
    given_up = ports.jobs.get(ref.job_id).cursor.seq
    down["on"] = False
    assert ingest.handle(Continuation(ref.job_id, 1), FakeContext()).outcome == "retrying"
    assert len(ports.stream.records) == 100 - given_up
    assert ports.jobs.get(ref.job_id).counts.failed == given_up
