"""The API Lambda: every route, pagination across pages, and each error with its status and body."""

from __future__ import annotations

import json

import pytest

from lambdas.api.handler import handler as api_handler
from loader.faults import KinesisFaults
from shared.aws import clients
from shared.delivery.outcomes import THROTTLED
from shared.delivery.requests import PATIENCE
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of, jsonl
from tests.lambda_helpers import FakeContext, api_event


@pytest.fixture
def stack(aws, monkeypatch):
    return moto_stack.create(monkeypatch, LOADER_MAX_ATTEMPTS="1")


def call(method, path, query=None, body=None):
    out = api_handler(api_event(method, path, query, body), FakeContext())
    return out["statusCode"], json.loads(out["body"])


def upload_and_ingest(stack, name, data):
    note = stack.upload(name, data)
    invoke(stack, note)
    return job_id_of(note)


def with_failures(stack, n=30, every=3):
    KinesisFaults(
        chooser=lambda i, r: (
            THROTTLED if int(r["PartitionKey"].rsplit(":", 1)[1]) % every == 0 else None
        )
    ).install(clients.client("kinesis"))
    return upload_and_ingest(stack, "f.jsonl", jsonl(n))


def test_a_job_reports_status_source_counts_and_progress(stack):
    job_id = upload_and_ingest(stack, "a.jsonl", jsonl(10) + b"bad\n")
    status, job = call("GET", f"/jobs/{job_id}")
    assert status == 200
    assert job["job_id"] == job_id and job["status"] == "completed_with_errors"
    assert (
        job["source"]["key"] == "incoming/a.jsonl" and job["source"]["size"] == len(jsonl(10)) + 4
    )
    assert job["counts"] == {"records": 11, "sent": 10, "failed": 0, "rejected": 1, "dead": 0}
    assert job["progress"] == 1 and job["bytes_read"] == job["source"]["size"]
    assert (
        job["format"] == "jsonl"
        and job["error"] is None
        and job["created_at"]
        and job["finished_at"]
    )


def test_jobs_are_listed_newest_first_page_by_page_and_by_key(stack):
    ids = [upload_and_ingest(stack, f"f{i}.jsonl", jsonl(1)) for i in range(5)]
    again = upload_and_ingest(stack, "f1.jsonl", jsonl(2))
    seen, token = [], None
    while True:
        status, page = call(
            "GET", "/jobs", {"limit": "2", **({"next_token": token} if token else {})}
        )
        assert status == 200 and len(page["jobs"]) <= 2
        seen += [j["job_id"] for j in page["jobs"]]
        token = page["next_token"]
        if not token:
            break
    assert seen == [again, *reversed(ids)]
    _, by_key = call("GET", "/jobs", {"key": "f1.jsonl"})
    assert [j["job_id"] for j in by_key["jobs"]] == [again, ids[1]]
    _, by_full_key = call("GET", "/jobs", {"key": "incoming/f1.jsonl"})
    assert by_full_key["jobs"] == by_key["jobs"]


def all_pages(query):
    found, token = [], None
    while True:
        status, page = call("GET", "/jobs", {**query, **({"next_token": token} if token else {})})
        assert status == 200
        found += [j["job_id"] for j in page["jobs"]]
        token = page["next_token"]
        if not token:
            return found


def test_jobs_are_found_by_a_prefix_of_their_key_or_id(stack):
    ids = [
        upload_and_ingest(stack, name, jsonl(1)) for name in ("a/x.jsonl", "a/y.jsonl", "b.jsonl")
    ]
    assert all_pages({"key_prefix": "a/", "limit": "1"}) == [ids[1], ids[0]]
    assert all_pages({"key_prefix": "incoming/b", "limit": "1"}) == [ids[2]]
    assert all_pages({"id_prefix": ids[2][:6], "limit": "1"}) == [ids[2]]
    assert all_pages({"id_prefix": ids[0], "limit": "1"}) == [ids[0]]
    status, got = call("GET", "/jobs", {"id_prefix": "NOT-AN-ID"})
    assert (status, got["error"]) == (400, "InvalidIdPrefix")


def test_failed_records_page_by_page(stack):
    job_id = with_failures(stack)
    seqs, token = [], None
    while True:
        query = {"status": "failed", "limit": "4", **({"next_token": token} if token else {})}
        status, page = call("GET", f"/jobs/{job_id}/records", query)
        assert status == 200
        seqs += [r["seq"] for r in page["records"]]
        token = page["next_token"]
        if not token:
            break
    assert seqs == list(range(0, 30, 3))
    _, first = call("GET", f"/jobs/{job_id}/records", {"status": "failed", "limit": "1"})
    [record] = first["records"]
    assert record | {"updated_at": None} == record | {
        "seq": 0, "line": 1, "status": "failed", "error_code": THROTTLED, "updated_at": None,
        "attempts": PATIENCE,  # one attempt allowed, PATIENCE times over while the stream takes others
    }  # fmt: skip
    assert record["error_message"] and record["payload_kept"] is True


def test_records_without_a_status_filter_are_all_ledger_items(stack):
    job_id = upload_and_ingest(stack, "a.jsonl", b"bad\n" + jsonl(2) + b"worse\n")
    _, page = call("GET", f"/jobs/{job_id}/records")
    assert [(r["seq"], r["status"], r["line"]) for r in page["records"]] == [
        (0, "rejected", 1),
        (3, "rejected", 4),
    ]


def test_retry_is_queued_and_answered_with_what_it_covers(stack):
    job_id = with_failures(stack)
    status, body = call("POST", f"/jobs/{job_id}/retry")
    assert status == 202 and body["queued"] == 10 and body["include_dead"] is False
    assert stack.messages(stack.retry_queue_url) == [
        {"job_id": job_id, "round": 1, "requested": True}
    ]
    status, body = call("POST", f"/jobs/{job_id}/retry", body={"seqs": [0, 3, 4]})
    assert status == 202 and body["queued"] == 2  # seq 4 was sent
    assert stack.messages(stack.retry_queue_url)[0]["seqs"] == [0, 3, 4]


def test_retry_with_nothing_to_retry_is_a_409(stack):
    job_id = upload_and_ingest(stack, "a.jsonl", jsonl(3))
    status, body = call("POST", f"/jobs/{job_id}/retry", body={"include_dead": True})
    assert (
        status == 409
        and body["error"] == "NothingToRetry"
        and "no failed or dead records" in body["message"]
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "code"),
    [
        ("GET", "/jobs/not-a-job", None, None, 404, "JobNotFound"),
        ("POST", "/jobs/not-a-job/retry", None, None, 404, "JobNotFound"),
        ("GET", "/jobs/aaaaaaaaaaaaaaaaaaaaaaaa", None, None, 404, "JobNotFound"),
        ("GET", "/jobs", {"limit": "0"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"limit": "101"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"limit": "ten"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"next_token": "garbage!!"}, None, 400, "InvalidToken"),
        ("GET", "/jobs/aaaaaaaaaaaaaaaaaaaaaaaa/records", None, None, 404, "JobNotFound"),
        ("POST", "/jobs/aaaaaaaaaaaaaaaaaaaaaaaa/retry", None, None, 404, "JobNotFound"),
        ("GET", "/nowhere", None, None, 404, "NoSuchRoute"),
        ("DELETE", "/jobs", None, None, 405, "MethodNotAllowed"),
        ("OPTIONS", "/jobs/aaaaaaaaaaaaaaaaaaaaaaaa/retry", None, None, 405, "MethodNotAllowed"),
        ("GET", "/jobs", {"limit": "1_0"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"limit": "\u0665"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"limit": " 7"}, None, 400, "InvalidLimit"),
        ("GET", "/jobs", {"limit": "+5"}, None, 400, "InvalidLimit"),
    ],
)
def test_errors_have_a_status_and_a_json_body(stack, method, path, query, body, status, code):
    got_status, got = call(method, path, query, body)
    assert (got_status, got["error"]) == (status, code) and got["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ({"include_dead": "yes"}, "true or false"),
        ({"force": True}, "unknown fields: force"),
        ({"seqs": []}, "seqs"),
        ({"seqs": [-1]}, "seqs"),
    ],
)
def test_malformed_retry_bodies_are_400s(stack, body, message):
    job_id = with_failures(stack)
    status, got = call("POST", f"/jobs/{job_id}/retry", body=body)
    assert status == 400 and got["error"] == "InvalidBody" and message in got["message"]


def test_record_status_filter_is_validated(stack):
    job_id = upload_and_ingest(stack, "a.jsonl", jsonl(1))
    status, got = call("GET", f"/jobs/{job_id}/records", {"status": "lost"})
    assert (status, got["error"]) == (400, "InvalidStatus")


def test_a_tampered_or_borrowed_token_is_a_400(stack):
    for i in range(3):
        upload_and_ingest(stack, f"f{i}.jsonl", jsonl(1))
    _, page = call("GET", "/jobs", {"limit": "1"})
    token = page["next_token"]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert call("GET", "/jobs", {"limit": "1", "next_token": flipped})[1]["error"] == "InvalidToken"
    status, got = call("GET", "/jobs", {"key": "f1.jsonl", "next_token": token})
    assert (status, got["error"]) == (400, "InvalidToken")
    assert call("GET", "/jobs", {"limit": "1", "next_token": token})[0] == 200


def test_records_show_the_start_of_their_bytes_inline_or_spilled(stack, monkeypatch):
    monkeypatch.setenv("LOADER_INLINE_PAYLOAD_BYTES", "40")
    moto_stack.reset_caches()
    long_line = b'{"bad": "' + b"x" * 500
    job_id = upload_and_ingest(stack, "p.jsonl", b"not json\n" + long_line + b"\n")
    _, page = call("GET", f"/jobs/{job_id}/records", {"status": "rejected"})
    short, spilled = sorted(page["records"], key=lambda r: r["seq"])
    assert short["payload_preview"] == "not json"
    assert spilled["payload_preview"] == long_line[:200].decode()
    assert spilled["payload_size"] == len(long_line)
