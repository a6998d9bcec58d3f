"""The ingest service when its ports fail part way: DynamoDB throttled past botocore's retries, a
lease lost to another invocation, a read dropped mid-object, a spill refused. Every job ends, the
counts stay exact, and a redelivery resends nothing that was checkpointed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from shared.config import LoaderConfig
from shared.domain.errors import LeaseLostError, LedgerError
from shared.domain.limits import KinesisLimits
from shared.ingest.messages import Continuation
from shared.ingest.service import IngestPorts, IngestService
from tests.fakes import FakeEvents, FakeJobs, FakeObjects, FakeQueue, FakeRecords, FakeStream
from tests.lambda_helpers import FakeContext

BUCKET = "bucket"


def lines(n: int) -> bytes:
    return b"".join(b'{"i": %d}\n' % i for i in range(n))


@pytest.fixture
def ports() -> IngestPorts:
    stream = FakeStream(limits_=KinesisLimits(max_entries=10))
    return IngestPorts(FakeJobs(), FakeRecords(), FakeObjects(), stream, FakeQueue(), FakeQueue(),
                       FakeEvents())  # fmt: skip


def service(ports: IngestPorts, **settings) -> IngestService:
    config = LoaderConfig(bucket=BUCKET, stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry", ingest_queue_url="ingest", max_in_flight=1,
                          checkpoint_every_requests=1, **settings)  # fmt: skip
    return IngestService(config, ports, sleep=lambda s: None)


def throttled(operation: str) -> LedgerError:
    cause = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, operation)
    try:
        raise LedgerError(f"{operation} failed") from cause
    except LedgerError as exc:
        return exc


def test_a_throttled_checkpoint_is_redelivered_and_resumes_where_it_left(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(200))
    ports.jobs.fail_next("record_progress", throttled("UpdateItem"), times=1)
    ingest = service(ports)
    with pytest.raises(LedgerError):  # infrastructure: the queue redelivers
        ingest.handle(ref, FakeContext())
    # what settled is checkpointed on the way out (that write went through), the lease released
    job = ports.jobs.get(ref.job_id)
    assert (job.status, job.lease_owner) == ("running", None)
    assert job.counts.sent == job.cursor.seq > 0
    assert ingest.handle(ref, FakeContext()).outcome == "completed"
    job = ports.jobs.get(ref.job_id)
    assert (job.counts.records, job.counts.sent) == (200, 200)


def test_a_checkpoint_throttled_on_the_last_delivery_fails_the_job(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(50))
    ports.jobs.fail_next("record_progress", throttled("UpdateItem"), times=1)
    with pytest.raises(LedgerError):
        service(ports).handle(ref, FakeContext(), final=True)
    job = ports.jobs.get(ref.job_id)
    assert (job.status, job.error_code) == ("failed", "ProvisionedThroughputExceededException")
    assert job.error.startswith("gave up: ")


def test_a_lease_lost_to_another_invocation_hands_the_message_back(ports):
    # The holder may die with the lease (and this may be its own message, redelivered): the message
    # comes back later rather than be deleted with nobody left to carry the job on.
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    ports.jobs.fail_next("record_progress", LeaseLostError("taken over"))
    with pytest.raises(LeaseLostError):
        service(ports).handle(ref, FakeContext())
    assert ports.jobs.get(ref.job_id).status == "running"  # the other invocation carries on


def test_a_lease_lost_on_the_last_delivery_leaves_the_job_to_its_holder(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    ports.jobs.fail_next("record_progress", LeaseLostError("taken over"))
    report = service(ports).handle(ref, FakeContext(), final=True)
    assert report.outcome == "skipped"
    assert ports.jobs.get(ref.job_id).status == "running"


def test_a_message_older_than_the_chain_is_dropped(ports):
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(100))
    ingest = service(ports)
    ports.jobs.create(ref, len(lines(100)), None, None, "2026-01-01T00:00:00Z")
    ports.jobs.jobs[ref.job_id].hops = 3  # continuation 3 has run: hop 1's message is a stale copy
    assert ingest.handle(Continuation(ref.job_id, 1), FakeContext()).outcome == "skipped"


def test_a_read_dropped_mid_object_is_redelivered_and_nothing_checkpointed_is_resent(ports):
    n = 60_000
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(n))
    ports.objects.fail_after_bytes = 400_000
    ports.objects.fail_next("chunks", ReadTimeoutError(endpoint_url="s3"))
    ingest = service(ports)
    with pytest.raises(ReadTimeoutError):
        ingest.handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    checkpointed = job.cursor.seq
    assert 0 < checkpointed == job.counts.sent < n
    sent_before = len(ports.stream.records)
    assert ingest.handle(ref, FakeContext()).outcome == "completed"
    job = ports.jobs.get(ref.job_id)
    assert (job.counts.records, job.counts.sent) == (n, n)
    # only what was not checkpointed went out again (the batches that broke off)
    assert len(ports.stream.records) - n == sent_before - checkpointed


def test_a_refused_ledger_write_fails_the_job_with_its_reason(ports):
    ports.stream.fail = lambda e: "ProvisionedThroughputExceededException"
    ref = ports.objects.add(BUCKET, "incoming/a.jsonl", lines(20))
    denied = ClientError({"Error": {"Code": "AccessDeniedException"}}, "BatchWriteItem")
    try:
        raise LedgerError("writing ledger items failed") from denied
    except LedgerError as exc:
        ports.records.fail_next("put", exc)
    report = service(ports, max_attempts=1, default_ordering="none").handle(ref, FakeContext())
    job = ports.jobs.get(ref.job_id)
    assert (report.outcome, job.status, job.error_code) == (
        "failed",
        "failed",
        "AccessDeniedException",
    )
