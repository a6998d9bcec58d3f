"""The retry Lambda: rounds with backoff until records are sent or dead; redeliveries send nothing twice."""

from __future__ import annotations

from collections import Counter

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lambdas.retry.handler import handler as retry_handler
from loader.faults import KinesisFaults
from shared.aws import clients
from shared.delivery.outcomes import THROTTLED
from shared.retry.wiring import retry_service
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of, jsonl, stream_data
from tests.lambda_helpers import FakeContext


class RecordingQueue:
    """Stands in for the retry queue: keeps what is sent and with which delay."""

    def __init__(self):
        self.sent: list[tuple[dict, int]] = []

    def send(self, body, delay_seconds=0):
        self.sent.append((body, delay_seconds))


class Switch:
    """Fails the entries whose seq % 4 == 0 while on."""

    def __init__(self):
        self.on = True

    def __call__(self, index, record):
        seq = int(record["PartitionKey"].rsplit(":", 1)[1])
        return THROTTLED if self.on and seq % 4 == 0 else None


@pytest.fixture
def stack(aws, monkeypatch):
    s = moto_stack.create(monkeypatch, LOADER_MAX_ATTEMPTS="1", LOADER_MAX_RETRIES="3")
    s.switch = Switch()
    KinesisFaults(chooser=s.switch).install(clients.client("kinesis"))
    return s


def ingest_with_failures(stack, n=100):
    note = stack.upload("a.jsonl", jsonl(n))
    invoke(stack, note)
    job_id = job_id_of(note)
    job = stack.job(job_id)
    assert (job["status"], job["n_failed"]) == ("retrying", n // 4)
    return job_id


def retry(stack, body):
    queue = RecordingQueue()
    retry_service().ports.retry_queue = queue
    result = retry_handler(stack.event(body), FakeContext())
    assert result == {"batchItemFailures": []}
    return queue.sent


def test_rounds_recover_every_record_once_the_throttling_clears(stack):
    job_id = ingest_with_failures(stack)
    # Round 1 while the stream still throttles those records: a second round is scheduled with backoff
    [(body, delay)] = retry(stack, {"job_id": job_id, "round": 1})
    assert body == {"job_id": job_id, "round": 2} and 30 <= delay <= 120
    assert stack.job(job_id)["n_failed"] == 25
    # Round 2 with the stream healthy: everything is sent, the job completes
    stack.switch.on = False
    assert retry(stack, body) == []
    job = stack.job(job_id)
    assert (job["status"], job["n_sent"], job["n_failed"], job["n_dead"]) == (
        "completed",
        100,
        0,
        0,
    )
    assert Counter(stream_data(stack)) == Counter(jsonl(100).splitlines())
    recovered = [i for i in stack.records(job_id)]
    assert len(recovered) == 25
    assert all(
        i["status"] == "sent" and i["recovered"] and i["shard_id"] and i["retries"] == 2
        for i in recovered
    )


def test_records_that_never_go_through_end_dead(stack):
    job_id = ingest_with_failures(stack)
    body = {"job_id": job_id, "round": 1}
    rounds = 0
    while body:
        rounds += 1
        sent = retry(stack, body)
        body = sent[0][0] if sent else None
    job = stack.job(job_id)
    assert rounds == 3  # LOADER_MAX_RETRIES
    assert (job["status"], job["n_sent"], job["n_failed"], job["n_dead"]) == (
        "completed_with_errors",
        75,
        0,
        25,
    )
    assert {i["status"] for i in stack.records(job_id)} == {"dead"}
    assert job["n_records"] == job["n_sent"] + job["n_failed"] + job["n_rejected"] + job["n_dead"]


def test_a_redelivered_message_sends_nothing_twice(stack):
    job_id = ingest_with_failures(stack)
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1})
    retry(stack, {"job_id": job_id, "round": 1})
    assert Counter(stream_data(stack)) == Counter(jsonl(100).splitlines())
    assert stack.job(job_id)["n_sent"] == 100


def test_dead_records_are_resent_when_asked(stack, monkeypatch):
    monkeypatch.setenv("LOADER_MAX_RETRIES", "1")
    moto_stack.reset_caches()
    KinesisFaults(chooser=stack.switch).install(clients.client("kinesis"))
    job_id = ingest_with_failures(stack)
    retry(stack, {"job_id": job_id, "round": 1})
    assert stack.job(job_id)["status"] == "completed_with_errors"
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1, "include_dead": True, "requested": True})
    job = stack.job(job_id)
    assert (job["status"], job["n_sent"], job["n_dead"]) == ("completed", 100, 0)


def test_only_checkpointed_records_are_retried_while_the_ingest_runs(stack):
    job_id = ingest_with_failures(stack)
    # GIVEN the job back in the ingest's hands with its cursor at seq 50 (a resumed run)
    stack.ddb.update_item(
        TableName=moto_stack.JOBS, Key={"job_id": {"S": job_id}},
        UpdateExpression="SET #s = :r, #c.#q = :fifty",
        ExpressionAttributeNames={"#s": "status", "#c": "cursor", "#q": "seq"},
        ExpressionAttributeValues={":r": {"S": "running"}, ":fifty": {"N": "50"}},
    )  # fmt: skip
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1})
    items = {i["seq"]: i["status"] for i in stack.records(job_id)}
    assert {s for s, st in items.items() if st == "sent"} == set(range(0, 50, 4))
    assert {s for s, st in items.items() if st == "failed"} == set(range(52, 100, 4))


def test_a_second_retry_of_the_same_job_waits_its_turn(stack):
    job_id = ingest_with_failures(stack)
    retry_service().ports.lease.acquire(job_id, "other", 9e12, 0)
    [(body, delay)] = retry(stack, {"job_id": job_id, "round": 1})
    assert body["job_id"] == job_id and delay > 0
    assert len(stream_data(stack)) == 75


def test_spilled_payloads_are_resent(stack, monkeypatch):
    monkeypatch.setenv("LOADER_INLINE_PAYLOAD_BYTES", "8")
    moto_stack.reset_caches()
    KinesisFaults(chooser=stack.switch).install(clients.client("kinesis"))
    job_id = ingest_with_failures(stack)
    assert all("payload_key" in i for i in stack.records(job_id))
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1})
    assert Counter(stream_data(stack)) == Counter(jsonl(100).splitlines())


def test_long_waits_are_chained_through_not_before(stack, monkeypatch):
    monkeypatch.setenv("LOADER_RETRY_DELAY_SECONDS", "3000")
    moto_stack.reset_caches()
    KinesisFaults(chooser=stack.switch).install(clients.client("kinesis"))
    job_id = ingest_with_failures(stack)
    [(body, delay)] = retry(stack, {"job_id": job_id, "round": 1})
    assert delay == 900 and body["not_before"] > 0
    [(again, delay2)] = retry(stack, body)  # arrives early: waits again, nothing sent
    assert again == body and 0 < delay2 <= 900
    assert stack.job(job_id)["n_failed"] == 25


def test_a_spilled_payload_that_is_gone_makes_its_record_dead_alone(stack, monkeypatch):
    # GIVEN failed records whose payloads were spilled, and two of them expired by the lifecycle rule
    monkeypatch.setenv("LOADER_INLINE_PAYLOAD_BYTES", "8")
    moto_stack.reset_caches()
    KinesisFaults(chooser=stack.switch).install(clients.client("kinesis"))
    job_id = ingest_with_failures(stack)
    gone = sorted(stack.records(job_id), key=lambda i: i["seq"])[:2]
    for item in gone:
        stack.s3.delete_object(Bucket=moto_stack.BUCKET, Key=item["payload_key"])
    # WHEN the stream recovers and the retry runs
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1})
    # THEN those two are dead with the reason, the 23 others went through, and the job has ended
    job = stack.job(job_id)
    assert (job["status"], job["n_sent"], job["n_dead"], job["n_failed"]) == (
        "completed_with_errors", 98, 2, 0,
    )  # fmt: skip
    dead = [i for i in stack.records(job_id) if i["status"] == "dead"]
    assert sorted(i["seq"] for i in dead) == sorted(i["seq"] for i in gone)
    assert all(
        i["error_code"] == "PayloadMissing" and "is gone" in i["error_message"] for i in dead
    )


def test_a_round_that_cannot_run_on_its_last_delivery_fails_the_job(stack, monkeypatch):
    job_id = ingest_with_failures(stack)

    def broken(entries):
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(retry_service().ports.stream, "put_records", broken)
    event = stack.event({"job_id": job_id, "round": 1}, receive_count=5)
    with pytest.raises(BatchProcessingError):  # the message goes to the dead-letter queue
        retry_handler(event, FakeContext())
    job = stack.job(job_id)
    assert (job["status"], job["error_code"], job["n_failed"]) == (
        "failed", "ConnectionResetError", 25,
    )  # fmt: skip
    assert "retry round 1 could not run" in job["error"]


def test_the_retry_publishes_the_jobs_end(stack):
    job_id = ingest_with_failures(stack)
    stack.switch.on = False
    retry(stack, {"job_id": job_id, "round": 1})
    statuses = [(e["detail"]["previous_status"], e["detail"]["status"]) for e in stack.job_events()]
    assert statuses == [(None, "queued"), ("queued", "running"), ("running", "retrying"),
                        ("retrying", "completed")]  # fmt: skip


def test_a_job_shows_which_retry_round_ran_last(stack):
    job_id = ingest_with_failures(stack)
    retry(stack, {"job_id": job_id, "round": 2})
    assert stack.job(job_id)["retry_round"] == 2
