"""The API service on in-memory fakes: every validation branch, paging with signed tokens, retries."""

from __future__ import annotations

import pytest

from shared.api.errors import ApiError
from shared.api.service import ApiPorts, JobsApi
from shared.config import LoaderConfig
from shared.domain.jobs import LedgerItem, ObjectRef
from tests.fakes import FakeJobs, FakeObjects, FakeQueue, FakeRecords

BUCKET = "bucket"


@pytest.fixture
def ports() -> ApiPorts:
    return ApiPorts(FakeJobs(), FakeRecords(), FakeQueue(), FakeObjects())


def api(ports: ApiPorts, key: bytes = b"k" * 32) -> JobsApi:
    config = LoaderConfig(bucket=BUCKET, stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry")  # fmt: skip
    return JobsApi(config, ports, token_key=key)


def job(ports: ApiPorts, key: str, created: str, **counts: int) -> str:
    ref = ObjectRef(BUCKET, f"incoming/{key}", "v1", '"e"', 10)
    ports.jobs.create(ref, 10, None, None, created)
    stored = ports.jobs.jobs[ref.job_id]
    for name, value in counts.items():
        setattr(stored.counts, name, value)
    return ref.job_id


def record(ports: ApiPorts, job_id: str, seq: int, status: str, **values) -> None:
    ports.records.put([LedgerItem(job_id, seq, status, "t", line=seq + 1, attempts=1, **values)])


def error(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.code


@pytest.mark.parametrize("raw", ["0", "101", "-1", "1_0", " 7", "+5", "٣", "abc", "5.0"])
def test_a_limit_is_1_to_100_in_ascii_digits(ports, raw):
    assert error(lambda: api(ports).list_jobs(None, raw, None)) == (400, "InvalidLimit")


def test_jobs_page_newest_first_with_tokens_bound_to_their_query(ports):
    ids = [job(ports, f"k{i}.jsonl", f"2026-01-0{i + 1}") for i in range(5)]
    a = api(ports)
    first = a.list_jobs(None, "2", None)
    assert [j["job_id"] for j in first.items] == [ids[4], ids[3]] and first.next_token
    second = a.list_jobs(None, "2", first.next_token)
    assert [j["job_id"] for j in second.items] == [ids[2], ids[1]]
    # a token is good only for the query it was given for, and only from this key
    assert error(lambda: a.list_jobs("k1.jsonl", "2", first.next_token)) == (400, "InvalidToken")
    assert error(lambda: api(ports, b"x" * 32).list_jobs(None, "2", first.next_token)) == (
        400, "InvalidToken",
    )  # fmt: skip
    assert error(lambda: a.list_jobs(None, "2", "%%%")) == (400, "InvalidToken")


def test_jobs_by_key_key_prefix_and_id_prefix(ports):
    a_id = job(ports, "a/x.jsonl", "2026-01-01")
    b_id = job(ports, "b/y.jsonl", "2026-01-02")
    api_ = api(ports)
    assert [j["job_id"] for j in api_.list_jobs("a/x.jsonl", None, None).items] == [a_id]
    assert [j["job_id"] for j in api_.list_jobs(None, None, None, key_prefix="b/").items] == [b_id]
    assert [j["job_id"] for j in api_.list_jobs(None, None, None, id_prefix=a_id[:4]).items] == [
        a_id
    ]
    assert error(lambda: api_.list_jobs(None, None, None, id_prefix="ABC")) == (
        400, "InvalidIdPrefix",
    )  # fmt: skip


@pytest.mark.parametrize("raw", ["nope", "x" * 24, "a" * 25, "../etc"])
def test_a_malformed_or_unknown_job_id_is_not_found(ports, raw):
    assert error(lambda: api(ports).get_job(raw)) == (404, "JobNotFound")
    assert error(lambda: api(ports).get_job("a" * 24)) == (404, "JobNotFound")


def test_records_by_status_page_by_page_with_previews(ports):
    job_id = job(ports, "r.jsonl", "2026-01-01", failed=3, rejected=1)
    for seq in range(3):
        record(ports, job_id, seq, "failed", payload=b"data %d" % seq)
    ports.objects.put(BUCKET, "spill/1", b"spilled bytes")
    record(ports, job_id, 7, "rejected", payload_key="spill/1", error_code="MalformedJson")
    a = api(ports)
    first = a.list_records(job_id, "failed", "2", None)
    assert [r["seq"] for r in first.items] == [0, 1] and first.next_token
    assert [r["seq"] for r in a.list_records(job_id, "failed", "2", first.next_token).items] == [2]
    everything = a.list_records(job_id, None, None, None)
    assert [r["status"] for r in everything.items] == ["failed", "failed", "failed", "rejected"]
    assert error(lambda: a.list_records(job_id, "lost", None, None)) == (400, "InvalidStatus")
    assert error(lambda: a.list_records(job_id, "rejected", None, first.next_token)) == (
        400, "InvalidToken",
    )  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [[], "x", 3, {"include_dead": "yes"}, {"other": 1}, {"seqs": []}, {"seqs": [-1]},
     {"seqs": [True]}, {"seqs": "1"}, {"seqs": list(range(1001))}],
)  # fmt: skip
def test_a_malformed_retry_body_is_a_400(ports, body):
    job_id = job(ports, "r.jsonl", "2026-01-01", failed=1)
    assert error(lambda: api(ports).request_retry(job_id, body)) == (400, "InvalidBody")


def test_retry_queues_what_it_covers_or_says_why_not(ports):
    job_id = job(ports, "r.jsonl", "2026-01-01", failed=2, dead=1)
    record(ports, job_id, 0, "failed")
    record(ports, job_id, 1, "failed")
    record(ports, job_id, 2, "dead")
    a = api(ports)
    assert a.request_retry(job_id, None)["queued"] == 2
    assert a.request_retry(job_id, {"include_dead": True})["queued"] == 3
    assert a.request_retry(job_id, {"seqs": [1, 2]})["queued"] == 1
    assert [b["job_id"] for b, _ in ports.retry_queue.sent] == [job_id] * 3
    only_dead = job(ports, "d.jsonl", "2026-01-02", dead=1)
    with pytest.raises(ApiError, match="include_dead") as caught:
        a.request_retry(only_dead, None)
    assert (caught.value.status, caught.value.code) == (409, "NothingToRetry")
