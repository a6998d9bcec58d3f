"""The retry service on in-memory fakes: rounds, records dead alone, the job's end, failures."""

from __future__ import annotations

import pytest

from shared.config import LoaderConfig
from shared.ingest.service import IngestPorts, IngestService
from shared.retry.messages import RetryRequest
from shared.retry.service import RetryPorts, RetryService
from tests.fakes import (
    FakeEvents,
    FakeJobs,
    FakeLeases,
    FakeLedgerMoves,
    FakeObjects,
    FakeQueue,
    FakeRecords,
    FakeStream,
)  # fmt: skip
from tests.lambda_helpers import FakeContext

CONFIG = dict(bucket="bucket", stream="s", jobs_table="j", records_table="r",
              retry_queue_url="retry", ingest_queue_url="ingest", max_attempts=1, max_retries=3,
              inline_payload_bytes=8)  # fmt: skip


class Outage:
    """Fails every entry whose data holds an even number while on."""

    def __init__(self) -> None:
        self.on = True

    def __call__(self, entry):
        return "InternalFailure" if self.on and int(entry.data[6:-1]) % 2 == 0 else None


@pytest.fixture
def world():
    jobs, records, objects = FakeJobs(), FakeRecords(), FakeObjects()
    stream, events, retry_queue = FakeStream(fail=Outage()), FakeEvents(), FakeQueue()
    ingest = IngestService(LoaderConfig(**CONFIG), IngestPorts(
        jobs, records, objects, stream, FakeQueue(), retry_queue, events), sleep=lambda s: None)  # fmt: skip
    retry = RetryService(LoaderConfig(**CONFIG), RetryPorts(
        jobs, FakeLeases(jobs), records, FakeLedgerMoves(jobs, records), objects, stream, retry_queue,
        events), sleep=lambda s: None, rng=lambda: 0.5)  # fmt: skip
    ref = objects.add("bucket", "incoming/a.jsonl", b"".join(b'{"n": %d}\n' % i for i in range(20)))
    ingest.handle(ref, FakeContext())
    return jobs, records, objects, stream, retry, ref.job_id


def test_a_round_recovers_the_failed_records_and_ends_the_job(world):
    jobs, _, _, stream, retry, job_id = world
    assert (jobs.get(job_id).status, jobs.get(job_id).counts.failed) == ("retrying", 10)
    stream.fail.on = False
    assert retry.handle(RetryRequest(job_id), FakeContext()).recovered == 10
    job = jobs.get(job_id)
    assert (job.status, job.counts.sent, job.counts.failed) == ("completed", 20, 0)
    assert len(stream.records) == 20


def test_a_record_whose_payload_is_gone_is_dead_alone(world):
    jobs, records, objects, stream, retry, job_id = world
    spilled = sorted(k for k in objects.objects if k[1].startswith("ledger-payloads/"))
    del objects.objects[spilled[0]]
    stream.fail.on = False
    report = retry.handle(RetryRequest(job_id), FakeContext())
    assert (report.recovered, report.dead) == (9, 1)
    [dead] = [i for i in records.items.values() if i.status == "dead"]
    assert dead.error_code == "PayloadMissing" and "is gone" in dead.error_message
    assert jobs.get(job_id).status == "completed_with_errors"


def test_records_that_never_go_through_end_dead_after_the_last_round(world):
    jobs, _, _, _, retry, job_id = world
    for round_ in (1, 2, 3):
        retry.handle(RetryRequest(job_id, round_), FakeContext())
    job = jobs.get(job_id)
    assert (job.status, job.counts.failed, job.counts.dead) == ("completed_with_errors", 0, 10)


def test_a_round_that_cannot_run_fails_the_job_on_the_last_delivery(world):
    jobs, _, _, stream, retry, job_id = world

    def down(entry):
        raise ConnectionResetError("reset")

    stream.fail = down
    with pytest.raises(ConnectionResetError):
        retry.handle(RetryRequest(job_id), FakeContext())
    assert jobs.get(job_id).status == "retrying"  # redelivered: the job waits
    with pytest.raises(ConnectionResetError):
        retry.handle(RetryRequest(job_id), FakeContext(), final=True)
    job = jobs.get(job_id)
    assert (job.status, job.error_code, job.counts.failed) == ("failed", "ConnectionResetError", 10)


def test_a_round_short_of_time_sends_nothing_into_its_margin_and_hands_on(world):
    jobs, _, _, stream, retry, job_id = world
    stream.fail.on = False
    sent_before = len(stream.records)
    report = retry.handle(RetryRequest(job_id), FakeContext(remaining_s=20))  # margin: 30 s
    assert (report.outcome, report.recovered, len(stream.records)) == ("continued", 0, sent_before)
    assert jobs.get(job_id).counts.failed == 10  # still failed, for the hop that follows
    assert retry.handle(RetryRequest(job_id), FakeContext()).recovered == 10
    assert jobs.get(job_id).status == "completed"
