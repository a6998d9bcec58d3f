"""The ingest Lambda, invoked in-process against moto: jobs, ledger, idempotency, checkpoints."""

from __future__ import annotations

import bz2
import gzip

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lambdas.ingest.handler import handler
from loader.faults import KinesisFaults
from shared.aws import clients
from shared.delivery.outcomes import THROTTLED
from shared.domain.jobs import ObjectRef
from tests.helpers import datas, read
from tests.integration import stack as moto_stack
from tests.integration.conftest import read_stream
from tests.integration.helpers import invoke, job_id_of, jsonl, stream_data
from tests.lambda_helpers import FakeContext


@pytest.fixture
def stack(aws, monkeypatch):
    return moto_stack.create(monkeypatch)


FORMATS = {
    "events.jsonl": jsonl(300),
    "events.json": b"[\n"
    + b",\n".join(b'  {"i": %d, "tag": "t %d"}' % (i, i) for i in range(300))
    + b"\n]",
    "rows.csv": b"id,name\n" + b"".join(b'%d,"n, %d"\n' % (i, i) for i in range(300)),
    "rows.tsv": b"id\tname\n" + b"".join(b"%d\tn%d\n" % (i, i) for i in range(300)),
    "lines.txt": b"".join(b"line %d\n" % i for i in range(300)),
    "events.jsonl.gz": gzip.compress(jsonl(300)),
    "data.bz2": bz2.compress(jsonl(300)),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_lands_in_the_stream_exactly(stack, name):
    # GIVEN a file uploaded under the incoming prefix
    note = stack.upload(name, FORMATS[name])
    # WHEN the ingest Lambda gets its event
    result = invoke(stack, note)
    # THEN the stream holds exactly the file's records and the job is complete
    assert result == {"batchItemFailures": []}
    expected = datas(read(FORMATS[name], name))
    assert len(expected) == 300
    assert sorted(stream_data(stack)) == sorted(expected)
    job = stack.job(job_id_of(note))
    assert job["status"] == "completed"
    assert (job["n_records"], job["n_sent"], job["n_failed"], job["n_rejected"]) == (300, 300, 0, 0)
    assert job["bytes_read"] == job["size"] == len(FORMATS[name])


def test_default_partition_key_is_job_id_and_seq(stack):
    note = stack.upload("a.jsonl", jsonl(3))
    invoke(stack, note)
    keys = sorted(k for _, k in read_stream(stack.kinesis, moto_stack.STREAM))
    job_id = job_id_of(note)
    assert keys == [f"{job_id}:0", f"{job_id}:1", f"{job_id}:2"]


def test_object_metadata_sets_format_and_partition_key_field(stack):
    note = stack.upload(
        "upload.bin", jsonl(10), {"format": "jsonl", "partition-key-field": "user.id"}
    )
    invoke(stack, note)
    assert sorted({k for _, k in read_stream(stack.kinesis, moto_stack.STREAM)}) == [
        "u0",
        "u1",
        "u2",
        "u3",
        "u4",
    ]


def test_bad_records_are_ledgered_and_the_rest_sent(stack):
    big = b'{"big": "' + b"x" * (1100 * 1024) + b'"}'
    data = b'{"ok": 1}\n{"broken": \n' + big + b'\n{"ok": 2}\n\xff\xfe\n'
    note = stack.upload("mixed.jsonl", data)
    invoke(stack, note)
    job_id = job_id_of(note)
    job = stack.job(job_id)
    assert job["status"] == "completed_with_errors"
    assert (job["n_records"], job["n_sent"], job["n_rejected"]) == (5, 2, 3)
    items = {i["seq"]: i for i in stack.records(job_id)}
    assert [
        (s, items[s]["status"], items[s]["error_code"], items[s]["line"]) for s in sorted(items)
    ] == [
        (1, "rejected", "MalformedJson", 2),
        (2, "rejected", "Oversized", 3),
        (4, "rejected", "InvalidUtf8", 5),
    ]
    assert items[1]["payload"] == b'{"broken": '
    assert items[2].get("payload_missing") is True  # a line over the limit is never held
    assert sorted(stream_data(stack)) == [b'{"ok": 1}', b'{"ok": 2}']


def test_large_rejected_payloads_are_spilled_to_the_bucket(stack, monkeypatch):
    monkeypatch.setenv("LOADER_INLINE_PAYLOAD_BYTES", "16")
    moto_stack.reset_caches()
    note = stack.upload("x.jsonl", b'{"this line is": "longer than sixteen bytes"\n')
    invoke(stack, note)
    [item] = stack.records(job_id_of(note))
    body = stack.s3.get_object(Bucket=moto_stack.BUCKET, Key=item["payload_key"])["Body"].read()
    assert item["payload_key"].startswith("ledger-payloads/") and body.startswith(
        b'{"this line is"'
    )


@pytest.mark.parametrize(
    ("name", "data", "meta", "match"),
    [
        ("image.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00", {}, "binary"),
        ("a.dat", b"hello\n", {"format": "xml"}, "unknown format 'xml'"),
        ("cut.jsonl.gz", gzip.compress(jsonl(2000))[:-30], {}, "truncated"),
        ("broken.json", b'[{"a": 1}, {"b": 2}', {}, "not closed"),
    ],
)
def test_a_file_that_cannot_be_read_fails_its_job_with_a_clear_error(
    stack, name, data, meta, match
):
    note = stack.upload(name, data, meta)
    assert invoke(stack, note) == {"batchItemFailures": []}
    job = stack.job(job_id_of(note))
    assert job["status"] == "failed" and match in job["error"]
    assert job["n_records"] == job["n_sent"] + job["n_failed"] + job["n_rejected"]


def test_records_sent_before_a_corruption_are_counted(stack):
    note = stack.upload("cut.jsonl.gz", gzip.compress(jsonl(5000))[:-30])
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    assert job["status"] == "failed" and job["n_sent"] == len(stream_data(stack)) > 0


def test_empty_object_completes_with_no_records(stack):
    note = stack.upload("empty.jsonl", b"")
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    assert (job["status"], job["n_records"]) == ("completed", 0)


def test_s3_test_event_and_keys_outside_the_prefix_are_ignored(stack):
    assert invoke(stack, {"Service": "Amazon S3", "Event": "s3:TestEvent"}) == {
        "batchItemFailures": []
    }
    stack.s3.put_object(Bucket=moto_stack.BUCKET, Key="elsewhere/a.jsonl", Body=jsonl(1))
    from tests.lambda_helpers import s3_notification

    invoke(
        stack,
        s3_notification(moto_stack.BUCKET, "elsewhere/a.jsonl", version_id=None, etag=None, size=1),
    )
    assert stream_data(stack) == []


def test_url_encoded_keys_are_decoded(stack):
    note = stack.upload("my file+v1.jsonl", jsonl(2))
    assert "my+file%2Bv1.jsonl" in note["Records"][0]["s3"]["object"]["key"]
    invoke(stack, note)
    assert len(stream_data(stack)) == 2


def test_a_malformed_message_is_reported_as_a_batch_item_failure(stack):
    # It goes back to the queue, and to the dead-letter queue after the redrive limit.
    event = stack.event(stack.upload("a.jsonl", jsonl(2)), "not json at all")
    result = handler(event, FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert len(stream_data(stack)) == 2


def test_duplicate_event_after_finishing_sends_nothing_twice(stack):
    note = stack.upload("a.jsonl", jsonl(50))
    invoke(stack, note)
    invoke(stack, note)
    assert len(stream_data(stack)) == 50
    assert stack.job(job_id_of(note))["n_sent"] == 50


def test_duplicate_event_while_the_job_runs_does_nothing(stack):
    # GIVEN a job another invocation holds under a live lease
    note = stack.upload("a.jsonl", jsonl(50))
    job_id = job_id_of(note)
    from shared.ingest.wiring import ingest_service

    service = ingest_service()
    service.ports.jobs.create(
        ObjectRef(
            moto_stack.BUCKET, "incoming/a.jsonl", note["Records"][0]["s3"]["object"]["versionId"]
        ),
        100,
        None,
        None,
        "t",
    )
    service.ports.jobs.acquire(job_id, "other-invocation", 9e12, 0, 0)
    # WHEN the duplicate arrives, THEN it comes back later (the holder may die with the job)
    with pytest.raises(BatchProcessingError):
        invoke(stack, note)
    # AND nothing is sent and the lease is untouched
    assert stream_data(stack) == []
    assert stack.job(job_id)["lease_owner"] == "other-invocation"


def test_an_overwrite_is_a_new_job(stack):
    first = stack.upload("a.jsonl", jsonl(3))
    second = stack.upload("a.jsonl", jsonl(4, start=100))
    invoke(stack, first)
    invoke(stack, second)
    assert job_id_of(first) != job_id_of(second)
    assert sorted(stream_data(stack)) == sorted(
        jsonl(3).splitlines() + jsonl(4, start=100).splitlines()
    )


def test_throttling_leaves_failed_records_in_the_ledger_and_the_job_retrying(stack, monkeypatch):
    # GIVEN 30% of entries throttled, and the sender allowed only 2 attempts (unordered: with
    # per-key order, an entry is given up only when the stream takes nothing else)
    monkeypatch.setenv("LOADER_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("LOADER_DEFAULT_ORDERING", "none")
    moto_stack.reset_caches()
    KinesisFaults(throttle=0.3, seed=11).install(clients.client("kinesis"))
    note = stack.upload("a.jsonl", jsonl(1000))
    # WHEN ingested
    invoke(stack, note)
    # THEN failed records are in the ledger with their payloads and keys, and the counts add up
    job_id = job_id_of(note)
    job = stack.job(job_id)
    assert job["status"] == "retrying"
    assert job["n_failed"] > 0 and job["n_records"] == job["n_sent"] + job["n_failed"] == 1000
    failed = [i for i in stack.records(job_id) if i["status"] == "failed"]
    assert len(failed) == job["n_failed"]
    lines = jsonl(1000).splitlines()
    for item in failed:
        assert item["payload"] == lines[item["seq"]] and item["error_code"] == THROTTLED
        assert item["partition_key"] == f"{job_id}:{item['seq']}" and item["attempts"] == 2
    assert len(stream_data(stack)) == job["n_sent"]
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.retry_queue_url, AttributeNames=["All"]
    )
    assert (
        attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    )  # after the retry delay


def test_record_tracking_all_writes_an_item_per_record_with_shard_and_sequence(stack, monkeypatch):
    monkeypatch.setenv("LOADER_RECORD_TRACKING", "all")
    moto_stack.reset_caches()
    note = stack.upload("a.jsonl", jsonl(20))
    invoke(stack, note)
    items = stack.records(job_id_of(note))
    assert len(items) == 20 and all(
        i["status"] == "sent" and i["shard_id"] and i["sequence_number"] for i in items
    )


def test_failed_records_are_listed_by_status_page_by_page(stack, monkeypatch):
    monkeypatch.setenv("LOADER_MAX_ATTEMPTS", "1")
    moto_stack.reset_caches()
    KinesisFaults(
        chooser=lambda i, r: THROTTLED if int(r["PartitionKey"].split(":")[1]) % 3 == 0 else None
    ).install(clients.client("kinesis"))
    note = stack.upload("a.jsonl", jsonl(100))
    invoke(stack, note)
    from shared.ledger.dynamodb import RecordsTable

    table = RecordsTable(stack.ddb, moto_stack.RECORDS)
    seqs, start = [], None
    while True:
        page, start = table.by_status(job_id_of(note), "failed", limit=10, start=start)
        assert len(page) <= 10
        seqs += [item.seq for item in page]
        if not start:
            break
    assert seqs == list(range(0, 100, 3))


def test_an_event_without_a_version_id_finds_the_version_by_its_etag(stack):
    # moto's (and some emulators') events carry no versionId; the job id must still be the version's
    note = stack.upload("a.jsonl", jsonl(3))
    obj = note["Records"][0]["s3"]["object"]
    version = obj.pop("versionId")
    invoke(stack, note)
    job_id = ObjectRef(moto_stack.BUCKET, "incoming/a.jsonl", version).job_id
    assert stack.job(job_id)["status"] == "completed"


def test_each_status_change_is_published_as_a_job_event(stack):
    # GIVEN a file with one bad line, WHEN its job runs
    note = stack.upload("e.jsonl", jsonl(3) + b"not json\n")
    invoke(stack, note)
    invoke(stack, note)  # a duplicate event changes nothing, so it publishes nothing
    # THEN queued, running and completed_with_errors were published, in order, with the job's facts
    events = stack.job_events()
    assert [e["detail"]["status"] for e in events] == ["queued", "running", "completed_with_errors"]
    assert [e["detail"]["previous_status"] for e in events] == [None, "queued", "running"]
    assert {(e["source"], e["detail-type"]) for e in events} == {
        ("s3-kinesis-loader", "Job Status Change")
    }
    last = events[-1]["detail"]
    assert last["job_id"] == job_id_of(note) and last["source"]["key"] == "incoming/e.jsonl"
    assert last["counts"] == {"records": 4, "sent": 3, "failed": 0, "rejected": 1, "dead": 0}


def test_a_failed_job_publishes_its_error(stack):
    note = stack.upload("broken.json", b'[{"a": 1}, ')
    invoke(stack, note)
    *_, failed = stack.job_events()
    assert (failed["detail"]["status"], failed["detail"]["previous_status"]) == (
        "failed",
        "running",
    )
    assert "followed by no element" in failed["detail"]["error"]
