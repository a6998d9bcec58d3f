"""A batch's small files run together on in-memory fakes: shared requests, two writes a job, each
job's counts, ledger and status its own; bad files, duplicates and infrastructure errors."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from urllib3.exceptions import ProtocolError

from lambdas.ingest.handler import handler
from shared.config import LoaderConfig
from shared.delivery.outcomes import THROTTLED
from shared.ingest.service import IngestPorts, IngestService
from tests.fakes import FakeEvents, FakeJobs, FakeObjects, FakeQueue, FakeRecords, FakeStream
from tests.lambda_helpers import FakeContext, s3_notification, sqs_event

BUCKET = "bucket"


@pytest.fixture
def ports() -> IngestPorts:
    return IngestPorts(FakeJobs(), FakeRecords(), FakeObjects(), FakeStream(shards=2), FakeQueue(),
                       FakeQueue(), FakeEvents())  # fmt: skip


def service(ports: IngestPorts, **settings) -> IngestService:
    config = LoaderConfig(bucket=BUCKET, stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry", ingest_queue_url="ingest", **settings)  # fmt: skip
    return IngestService(config, ports, sleep=lambda s: None)


def upload(ports: IngestPorts, files: dict[str, bytes]) -> tuple[dict, list]:
    refs = [ports.objects.add(BUCKET, f"incoming/{name}", data) for name, data in files.items()]
    notes = [s3_notification(BUCKET, r.key, version_id=r.version_id, etag=r.etag, size=r.size)
             for r in refs]  # fmt: skip
    return sqs_event(*notes), refs


def jsonl(file: int, n: int) -> bytes:
    return b"".join(b'{"f": %d, "i": %d}\n' % (file, i) for i in range(n))


def test_small_files_share_requests_and_cost_two_writes_a_job(ports):
    files = {f"f{i}.jsonl": jsonl(i, 20) for i in range(25)}
    event, refs = upload(ports, files)
    assert handler(event, FakeContext(), service=service(ports)) == {"batchItemFailures": []}
    assert sorted(d for d, _ in ports.stream.records) == sorted(
        line for data in files.values() for line in data.splitlines()
    )
    assert ports.stream.calls == 1  # 500 records of 25 files in one PutRecords
    assert ports.jobs.writes == 2 * 25 and ports.objects.gets == 25
    for ref in refs:
        job = ports.jobs.get(ref.job_id)
        assert (job.status, job.counts.records, job.counts.sent, job.lease_owner) == (
            "completed", 20, 20, None,
        )  # fmt: skip
        assert [e[1:] for e in ports.events.published if e[0] == ref.job_id] == [
            ("queued", None), ("running", "queued"), ("completed", "running"),
        ]  # fmt: skip
    # the default partition key stays <job id>:<seq>, per file
    first = refs[0].job_id
    assert sorted(k for _, k in ports.stream.records if k.startswith(first)) == sorted(
        f"{first}:{i}" for i in range(20)
    )


def test_a_bad_file_fails_alone_and_rejections_keep_their_lines(ports):
    files = {
        "good.jsonl": jsonl(0, 3),
        "mixed.jsonl": jsonl(1, 2) + b"nope\n" + jsonl(1, 1),
        "broken.json": b'[{"a": 1}, {"b": ',
        "keyed.jsonl": b'{"k": "x"}\n{"other": 1}\n',
    }
    event, refs = upload(ports, files)
    assert handler(event, FakeContext(), service=service(ports)) == {"batchItemFailures": []}
    good, mixed, broken, keyed = (ports.jobs.get(r.job_id) for r in refs)
    assert (good.status, good.counts.sent) == ("completed", 3)
    assert (mixed.status, mixed.counts.records, mixed.counts.sent, mixed.counts.rejected) == (
        "completed_with_errors", 4, 3, 1,
    )  # fmt: skip
    [item] = [i for i in ports.records.items.values() if i.job_id == mixed.job_id]
    assert (item.seq, item.line, item.error_code) == (2, 3, "MalformedJson")
    assert (broken.status, broken.error_code) == ("failed", "CorruptInput")
    assert keyed.status == "completed" and keyed.counts.sent == 2


def test_a_duplicate_event_goes_the_regular_way(ports):
    files = {"a.jsonl": jsonl(0, 5), "b.jsonl": jsonl(1, 5)}
    event, _ = upload(ports, files)
    svc = service(ports)
    handler(event, FakeContext(), service=svc)
    sent = len(ports.stream.records)
    again = {"Records": [dict(r, messageId=r["messageId"] + "-again") for r in event["Records"]]}
    assert handler(again, FakeContext(), service=svc) == {"batchItemFailures": []}
    assert len(ports.stream.records) == sent == 10  # finished jobs: acknowledged, nothing resent


def test_failed_entries_leave_their_job_retrying_with_its_own_ledger(ports):
    ports.stream.fail = lambda e: THROTTLED if json.loads(e.data)["f"] == 1 else None
    event, refs = upload(ports, {"a.jsonl": jsonl(0, 4), "b.jsonl": jsonl(1, 4)})
    handler(event, FakeContext(), service=service(ports, max_attempts=2, default_ordering="none"))
    a, b = (ports.jobs.get(r.job_id) for r in refs)
    assert (a.status, a.counts.sent) == ("completed", 4)
    assert (b.status, b.counts.failed) == ("retrying", 4)
    assert sorted(i.seq for i in ports.records.items.values() if i.job_id == b.job_id) == [
        0, 1, 2, 3,
    ]  # fmt: skip
    assert [body for body, _ in ports.retry_queue.sent] == [{"job_id": b.job_id, "round": 1}]


def test_an_infrastructure_error_hands_the_files_back_and_the_redelivery_finishes_them(ports):
    broken = {"on": True}

    def reset(entry):
        if broken["on"]:
            raise ProtocolError("connection reset")

    ports.stream.fail = reset
    event, refs = upload(ports, {"a.jsonl": jsonl(0, 4), "b.jsonl": jsonl(1, 4)})
    svc = service(ports)
    with pytest.raises(BatchProcessingError):  # every message failed: so does the invocation
        handler(event, FakeContext(), service=svc)
    assert all(ports.jobs.get(r.job_id).lease_owner is None for r in refs)  # released at once
    broken["on"] = False
    assert handler(event, FakeContext(), service=svc) == {"batchItemFailures": []}
    # the redelivery runs one job here and hands the other on as a fresh message of its own
    handed_on = [body for body, _ in ports.ingest_queue.sent]
    assert len(handed_on) == 1
    assert handler(sqs_event(*handed_on), FakeContext(), service=svc) == {"batchItemFailures": []}
    assert [ports.jobs.get(r.job_id).status for r in refs] == ["completed", "completed"]
    assert len(ports.stream.records) == 8


def test_on_the_last_delivery_an_infrastructure_error_fails_the_jobs(ports):
    def reset(entry):
        raise ProtocolError("connection reset")

    ports.stream.fail = reset
    files = {"a.jsonl": jsonl(0, 4), "b.jsonl": jsonl(1, 4)}
    refs = [ports.objects.add(BUCKET, f"incoming/{n}", d) for n, d in files.items()]
    notes = [s3_notification(BUCKET, r.key, version_id=r.version_id, etag=r.etag, size=r.size)
             for r in refs]  # fmt: skip
    handler(sqs_event(*notes, receive_count=5), FakeContext(), service=service(ports))
    for ref in refs:
        job = ports.jobs.get(ref.job_id)
        assert (job.status, job.error_code) == ("failed", "ProtocolError")
        assert job.error.startswith("gave up: ")


def test_large_files_and_continuations_still_run_alone(ports):
    big = jsonl(9, 3000)
    event, refs = upload(ports, {"a.jsonl": jsonl(0, 3), "b.jsonl": jsonl(1, 3), "big.jsonl": big})
    svc = service(ports, small_file_bytes=len(big) - 1)
    assert handler(event, FakeContext(), service=svc) == {"batchItemFailures": []}
    assert [ports.jobs.get(r.job_id).status for r in refs] == ["completed"] * 3
    assert len(ports.stream.records) == 3006


def test_a_job_never_straddles_two_batches(ports):
    # a batch is a request a lane (2 shards: 1,000 entries); the third file's 400 records would
    # cross its end, so the batch goes out before it: a crash re-sends only the batch in flight
    files = {f"f{i}.jsonl": jsonl(i, 400) for i in range(3)}
    event, refs = upload(ports, files)
    sizes: list[int] = []
    put = ports.stream.put_records
    ports.stream.put_records = lambda entries: sizes.append(len(entries)) or put(entries)
    assert handler(event, FakeContext(), service=service(ports)) == {"batchItemFailures": []}
    assert sizes == [500, 300, 400]
    assert {ports.jobs.get(r.job_id).status for r in refs} == {"completed"}
    assert ports.jobs.writes == 2 * 3


def test_a_small_file_with_more_records_than_a_batch_goes_the_regular_way(ports):
    files = {"many.jsonl": jsonl(0, 1200), "few.jsonl": jsonl(1, 5)}
    event, refs = upload(ports, files)
    assert handler(event, FakeContext(), service=service(ports)) == {"batchItemFailures": []}
    many, few = (ports.jobs.get(r.job_id) for r in refs)
    assert (many.status, many.counts.sent, many.lease_owner) == ("completed", 1200, None)
    assert (few.status, few.counts.sent) == ("completed", 5)
    landed = sorted(d for d, _ in ports.stream.records)
    assert landed == sorted(line for data in files.values() for line in data.splitlines())
    assert [e[1:] for e in ports.events.published if e[0] == many.job_id] == [
        ("queued", None), ("running", "queued"), ("completed", "running"),
    ]  # fmt: skip
