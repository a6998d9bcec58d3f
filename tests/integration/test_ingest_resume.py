"""Crashes, redeliveries and continuations: every record arrives, counters stay exact."""

from __future__ import annotations

import gzip
from collections import Counter

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from urllib3.exceptions import ProtocolError

from lambdas.ingest.handler import handler
from loader.faults import KinesisFaults
from shared.aws import clients
from tests.helpers import datas, read
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of, jsonl, stream_data
from tests.lambda_helpers import Countdown, FakeContext


class Crash(BaseException):
    """A hard stop (timeout, out of memory): nothing in the function gets to clean up."""


def crash_after(calls: int, error: type[BaseException] = Crash):
    """Make PutRecords calls past the first `calls` raise; returns a function that stops it."""
    seen = {"n": 0}

    def hook(**_):
        seen["n"] += 1
        if seen["n"] > calls:
            raise error("injected crash")

    events = clients.client("kinesis").meta.events
    events.register("before-call.kinesis.PutRecords", hook)
    return lambda: events.unregister("before-call.kinesis.PutRecords", hook)


def expire_lease(stack, job_id: str) -> None:
    """Time passes: the crashed invocation's lease runs out."""
    stack.ddb.update_item(
        TableName=moto_stack.JOBS, Key={"job_id": {"S": job_id}},
        UpdateExpression="SET lease_expires = :zero", ExpressionAttributeValues={":zero": {"N": "0"}},
    )  # fmt: skip


@pytest.fixture
def stack(aws, monkeypatch):
    # Small requests so a few thousand records make many of them; a checkpoint after each one.
    return moto_stack.create(
        monkeypatch, shards=2, LOADER_MAX_REQUEST_KIB="16", LOADER_CHECKPOINT_EVERY_REQUESTS="1"
    )


def test_crash_then_redelivery_duplicates_at_most_the_requests_in_flight(stack):
    # GIVEN an invocation that dies during its 11th PutRecords call
    data = jsonl(4000)
    note = stack.upload("a.jsonl", data)
    heal = crash_after(10)
    with pytest.raises(Crash):
        invoke(stack, note)
    job_id = job_id_of(note)
    assert stack.job(job_id)["status"] == "running"
    # WHEN the message is redelivered after the lease has expired
    heal()
    expire_lease(stack, job_id)
    invoke(stack, note)
    # THEN every record arrived, duplicates are bounded by the requests in flight, counters exact
    landed = Counter(stream_data(stack))
    assert set(landed) == set(data.splitlines())
    duplicates = sum(n - 1 for n in landed.values())
    records_per_request = 16 * 1024 // 60  # ~60-byte records with their keys
    assert duplicates <= 4 * records_per_request  # LOADER_MAX_IN_FLIGHT requests
    job = stack.job(job_id)
    assert (job["status"], job["n_records"], job["n_sent"], job["n_failed"]) == (
        "completed",
        4000,
        4000,
        0,
    )


def test_an_infrastructure_error_releases_the_lease_so_the_redelivery_resumes_at_once(stack):
    note = stack.upload("a.jsonl", jsonl(3000))
    heal = crash_after(5, ProtocolError)  # a connection reset under botocore
    with pytest.raises(BatchProcessingError):  # the whole batch failed: SQS will redeliver it
        invoke(stack, note)
    job_id = job_id_of(note)
    job = stack.job(job_id)
    assert "lease_owner" not in job and job["status"] == "running"
    assert job["cursor"]["seq"] > 0  # what settled before the error is checkpointed, not resent
    heal()
    invoke(stack, note)
    assert set(stream_data(stack)) == set(jsonl(3000).splitlines())
    assert stack.job(job_id)["n_sent"] == 3000


def test_an_unexpected_error_fails_the_job_at_once_and_is_not_redelivered(stack):
    # GIVEN a bug that raises in the middle of the job
    note = stack.upload("a.jsonl", jsonl(3000))
    heal = crash_after(5, RuntimeError)
    # WHEN the message is handled, THEN it succeeds (nothing to redeliver) and the job has failed
    invoke(stack, note)
    heal()
    job = stack.job(job_id_of(note))
    assert (job["status"], job["error_code"]) == ("failed", "InternalError")
    assert "RuntimeError: injected crash" in job["error"] and "lease_owner" not in job
    # with exact counts of what settled before the error
    assert job["n_records"] == job["n_sent"] == len(stream_data(stack)) > 0


def test_the_last_delivery_of_an_infrastructure_error_fails_the_job(stack):
    note = stack.upload("a.jsonl", jsonl(3000))
    heal = crash_after(5, ProtocolError)
    with pytest.raises(BatchProcessingError):  # the message goes on to the dead-letter queue
        invoke(stack, note, receive_count=5)
    heal()
    job = stack.job(job_id_of(note))
    assert (job["status"], job["error_code"]) == ("failed", "ProtocolError")
    assert job["error"].startswith("gave up: ") and "lease_owner" not in job
    assert job["n_records"] == job["n_sent"] == len(stream_data(stack))


def test_duplicate_event_during_a_crash_window_is_skipped_until_the_lease_expires(stack):
    note = stack.upload("a.jsonl", jsonl(2000))
    heal = crash_after(3)
    with pytest.raises(Crash):
        invoke(stack, note)
    heal()
    before = len(stream_data(stack))
    with pytest.raises(BatchProcessingError):  # the lease is still live: it comes back later
        invoke(stack, note)
    assert len(stream_data(stack)) == before


FILES = {
    "events.jsonl": jsonl(3000),
    "events.jsonl.gz": gzip.compress(jsonl(3000)),
    "rows.csv": b"id,note\n" + b"".join(b'%d,"multi\nline %d"\n' % (i, i) for i in range(3000)),
    "events.json": b"[" + b",\n ".join(b'{"i": %d, "s": "x"}' % i for i in range(3000)) + b"]",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_continuation_across_many_invocations_sends_every_record_once(stack, name, monkeypatch):
    # GIVEN ~50 batches of one request, and invocations that run out of time after about eight each
    monkeypatch.setenv("LOADER_MAX_REQUEST_KIB", "2")
    monkeypatch.setenv("LOADER_MAX_IN_FLIGHT", "1")
    moto_stack.reset_caches()
    note = stack.upload(name, FILES[name])
    job_id = job_id_of(note)
    invoke(stack, note, context=FakeContext(remaining_s=Countdown(40, 1.0)))
    # WHEN each continuation message is delivered to a fresh invocation
    hops = 0
    while messages := stack.messages(stack.ingest_queue_url):
        for body in messages:
            assert body == {"type": "continue", "job_id": job_id, "hop": hops + 1}
            hops += 1
            invoke(stack, body, context=FakeContext(remaining_s=Countdown(40, 1.0)))
    # THEN the job took many hops and every record landed exactly once
    assert hops >= 3
    expected = datas(read(FILES[name], name))
    assert sorted(stream_data(stack)) == sorted(expected) and len(expected) == 3000
    job = stack.job(job_id)
    assert (job["status"], job["n_records"], job["n_sent"], job["hops"]) == (
        "completed",
        3000,
        3000,
        hops,
    )


def test_runaway_continuations_are_stopped(stack, monkeypatch):
    monkeypatch.setenv("LOADER_MAX_HOPS", "2")
    monkeypatch.setenv("LOADER_MAX_REQUEST_KIB", "4")
    moto_stack.reset_caches()
    note = stack.upload("a.jsonl", jsonl(3000))
    invoke(stack, note, context=FakeContext(remaining_s=Countdown(33, 1.0)))
    hops = 0
    while messages := stack.messages(stack.ingest_queue_url):
        for body in messages:
            hops += 1
            handler(stack.event(body), FakeContext(remaining_s=Countdown(33, 1.0)))
    job = stack.job(job_id_of(note))
    assert job["status"] == "failed" and "2 continuations" in job["error"] and hops == 3
    assert job["n_records"] == job["n_sent"] == len(stream_data(stack))


def test_ledger_items_written_after_the_last_checkpoint_are_cleared_on_resume(stack, monkeypatch):
    # GIVEN failures ledgered (half the entries throttled, one attempt each) with no checkpoint yet
    monkeypatch.setenv("LOADER_CHECKPOINT_EVERY_REQUESTS", "1000")
    monkeypatch.setenv("LOADER_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("LOADER_DEFAULT_ORDERING", "none")  # gives up after max attempts
    monkeypatch.setenv("LOADER_MAX_REQUEST_KIB", "4")
    moto_stack.reset_caches()
    faults = KinesisFaults(throttle=0.5, seed=5)
    faults.install(clients.client("kinesis"))
    note = stack.upload("a.jsonl", jsonl(1000))
    job_id = job_id_of(note)
    heal = crash_after(12)  # two batches of five requests settle, the third breaks off
    with pytest.raises(Crash):
        invoke(stack, note)
    heal()
    assert any(i["status"] == "failed" for i in stack.records(job_id))
    # WHEN the redelivery runs with the stream healthy
    faults.throttle = 0.0
    expire_lease(stack, job_id)
    invoke(stack, note)
    # THEN no stale failed item is left and the counts say every record was sent
    assert [i for i in stack.records(job_id) if i["status"] == "failed"] == []
    job = stack.job(job_id)
    assert (job["status"], job["n_sent"], job["n_failed"]) == ("completed", 1000, 0)


def test_a_job_that_cannot_even_start_fails_on_the_last_delivery(stack, monkeypatch):
    # GIVEN DynamoDB refusing to open or lease the job (throttled past botocore's retries) on every
    # delivery
    from botocore.exceptions import ClientError

    from shared.domain.errors import LedgerError
    from shared.ingest.wiring import ingest_service

    def throttled(*args, **kwargs):
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
        raise LedgerError("taking the lease failed") from ClientError(error, "UpdateItem")

    monkeypatch.setattr(ingest_service().ports.jobs, "acquire", throttled)
    monkeypatch.setattr(ingest_service().ports.jobs, "create_running", throttled)
    note = stack.upload("a.jsonl", jsonl(10))
    # WHEN the message is delivered, it is handed back; on its last delivery the job fails
    with pytest.raises(BatchProcessingError):
        invoke(stack, note)
    gone = stack.ddb.get_item(TableName=moto_stack.JOBS, Key={"job_id": {"S": job_id_of(note)}})
    assert "Item" not in gone  # nothing opened: the redelivery tries again
    with pytest.raises(BatchProcessingError):
        invoke(stack, note, receive_count=5)
    job = stack.job(job_id_of(note))
    assert (job["status"], job["error_code"]) == (
        "failed",
        "ProvisionedThroughputExceededException",
    )
    assert job["error"] == "gave up: taking the lease failed"
