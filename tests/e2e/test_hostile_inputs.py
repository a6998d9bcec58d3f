"""Hostile inputs through the local stack, as a user would drop them: every job ends, nothing is lost.

One stack for the module (starting one takes seconds); each test uploads under its own key.
"""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import zstandard

from tests.e2e.conftest import Running, start_local
from tests.helpers import http_exchange

TERMINAL = ("completed", "completed_with_errors", "failed")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start_local(tmp_path_factory.mktemp("hostile"), "--retry-delay", "1")


def upload(local: Running, name: str, body: bytes, **metadata: str) -> str:
    key = f"incoming/hostile/{name}"
    out = local.s3.put_object(Bucket=local.state["bucket"], Key=key, Body=body, Metadata=metadata)
    return str(out["VersionId"])


def jobs_for(local: Running, name: str, n: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The key's newest `n` jobs, once all of them have ended."""
    deadline = time.monotonic() + timeout
    jobs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        jobs = local.api(f"/jobs?key=hostile/{name}")["jobs"]
        if len(jobs) >= n and all(j["status"] in TERMINAL for j in jobs[:n]):
            return jobs[:n]
        time.sleep(0.3)
    raise AssertionError(f"jobs for {name} did not end within {timeout} s: {jobs}")


def rejections(local: Running, job_id: str) -> list[dict[str, Any]]:
    return local.api(f"/jobs/{job_id}/records?status=rejected")["records"]


def landed(local: Running) -> Counter[bytes]:
    return Counter(local.stream())


def test_a_deeply_nested_array_element_is_rejected_and_the_job_ends(local):
    body = b"[1," + b"[" * 1500 + b"]" * 1500 + b", 2]"
    upload(local, "deep.json", body)
    [job] = jobs_for(local, "deep.json")
    assert (job["status"], job["counts"]["sent"], job["counts"]["rejected"]) == (
        "completed_with_errors", 2, 1,
    )  # fmt: skip
    [bad] = rejections(local, job["job_id"])
    assert (bad["seq"], bad["error_code"]) == (1, "NestingTooDeep")


def test_keys_orjson_cannot_hold_are_rejected_or_kept_exact(local):
    body = b'[{"k": 1e400}, {"k": "\\ud800"}, {"k": 12345678901234567890123}, {"k": 12345678901234567890124}]'
    upload(local, "keys.json", body, **{"partition-key-field": "k"})
    [job] = jobs_for(local, "keys.json")
    assert (job["status"], job["counts"]["sent"], job["counts"]["rejected"]) == (
        "completed_with_errors", 3, 1,
    )  # fmt: skip
    [bad] = rejections(local, job["job_id"])
    assert (bad["seq"], bad["error_code"]) == (1, "PartitionKey")


def test_an_unclosed_csv_quote_swallows_no_row(local):
    upload(local, "quote.csv", b'id,name\n1,"unclosed\n2,b\n3,c\n')
    [job] = jobs_for(local, "quote.csv")
    assert (job["status"], job["counts"]["sent"], job["counts"]["rejected"]) == (
        "completed_with_errors", 2, 1,
    )  # fmt: skip
    [bad] = rejections(local, job["job_id"])
    assert (bad["line"], bad["error_code"]) == (2, "MalformedCsv")
    assert {b'{"id":"2","name":"b"}', b'{"id":"3","name":"c"}'} <= set(landed(local))


def test_a_zstd_file_that_opens_with_a_skippable_frame_is_read_whole(local):
    lines = [b'{"z": %d}' % i for i in range(1000)]
    frame = zstandard.ZstdCompressor().compress(b"\n".join(lines) + b"\n")
    skippable = (0x184D2A50).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"\x00" * 4
    upload(local, "pz.jsonl.zst", skippable + frame)
    [job] = jobs_for(local, "pz.jsonl.zst")
    assert (job["status"], job["counts"]["sent"]) == ("completed", 1000)


def test_an_explicit_json_format_fails_a_pretty_printed_document(local):
    upload(local, "doc.json", b'{\n  "a": 1,\n  "b": "x"\n}\n', format="json")
    [job] = jobs_for(local, "doc.json")
    assert (job["status"], job["error_code"], job["counts"]["records"]) == (
        "failed", "UnreadableInput", 0,
    )  # fmt: skip
    assert "not a JSON array" in job["error"]


def test_a_quick_overwrite_and_a_repeated_upload_are_jobs_of_their_own(local):
    first = b"".join(b'{"v": 1, "i": %d}\n' % i for i in range(300))
    second = b"".join(b'{"v": 2, "i": %d}\n' % i for i in range(300))
    versions = [upload(local, "over.jsonl", body) for body in (first, second, second)]
    jobs = jobs_for(local, "over.jsonl", n=3)
    assert sorted(j["source"]["version_id"] for j in jobs) == sorted(versions)
    assert [j["status"] for j in jobs] == ["completed"] * 3
    got = landed(local)
    assert all(got[line] == 1 for line in first.splitlines())
    assert all(got[line] == 2 for line in second.splitlines())


def test_gzip_members_and_every_job_keeps_the_invariant(local):
    body = gzip.compress(b'{"g": 1}\n') + gzip.compress(b'{"g": 2}\nnot json\n')
    upload(local, "members.jsonl.gz", body)
    [job] = jobs_for(local, "members.jsonl.gz")
    c = job["counts"]
    assert (c["records"], c["sent"], c["rejected"]) == (3, 2, 1)
    for job in local.api("/jobs?limit=100")["jobs"]:
        c = job["counts"]
        assert c["records"] == c["sent"] + c["failed"] + c["rejected"] + c["dead"]


def raw_http(local: Running, request: bytes) -> tuple[int, dict[str, Any]]:
    return http_exchange(int(local.state["api_url"].rsplit(":", 1)[1]), request)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"POST /jobs HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "InvalidContentLength"),
        (b"POST /jobs HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "InvalidContentLength"),
        (b"OPTIONS /jobs HTTP/1.0\r\n\r\n", 405, "MethodNotAllowed"),
        (b"GET /jobs?limit=1_0 HTTP/1.0\r\n\r\n", 400, "InvalidLimit"),
        ("GET /jobs?limit=\u0665 HTTP/1.0\r\n\r\n".encode(), 400, "InvalidLimit"),
    ],
)
def test_malformed_api_requests_get_a_json_4xx(local, request_bytes, status, code):
    got_status, got = raw_http(local, request_bytes)
    assert (got_status, got["error"]) == (status, code) and got["message"]


def test_the_api_lists_jobs_after_all_of_that(local):
    try:
        jobs = local.api("/jobs?limit=5")["jobs"]
    except urllib.error.HTTPError as exc:  # pragma: no cover - a failure message, not a path
        raise AssertionError(exc.read()) from exc
    assert jobs and all(j["status"] in (*TERMINAL, "retrying", "running", "queued") for j in jobs)


@pytest.fixture
def outage(tmp_path):
    yield from start_local(
        tmp_path, "--shards", "3", "--fault", "kinesis-outage=8", "--retry-delay", "1",
        "--env", "LOADER_MAX_ATTEMPTS=1", "--env", "LOADER_INLINE_PAYLOAD_BYTES=4",
    )  # fmt: skip


def test_records_whose_spilled_payload_expired_end_dead_and_the_rest_recover(outage):
    # GIVEN a stream down for 8 s after start-up, so every record fails and is spilled to the bucket
    local = outage
    assert len(local.kinesis.list_shards(StreamName=local.state["stream"])["Shards"]) == 3
    data = b"".join(b'{"n": %d}\n' % i for i in range(20))
    upload(local, "spilled.jsonl", data)
    deadline = time.monotonic() + 30
    while (jobs := local.api("/jobs?key=hostile/spilled.jsonl")["jobs"]) == [] or jobs[0][
        "status"
    ] != "retrying":
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)
    job_id = jobs[0]["job_id"]
    # WHEN two payloads vanish (as the bucket's lifecycle rule expires them) before the stream is back
    spilled = local.s3.list_objects_v2(
        Bucket=local.state["bucket"], Prefix=f"ledger-payloads/{job_id}/"
    )["Contents"]
    assert len(spilled) == 20
    gone = {int(obj["Key"].rsplit("/", 1)[1]) for obj in spilled[:2]}
    for obj in spilled[:2]:
        local.s3.delete_object(Bucket=local.state["bucket"], Key=obj["Key"])
    # THEN those two end dead with the reason, the other 18 are recovered, and the job ends
    [job] = jobs_for(local, "spilled.jsonl", timeout=90)
    assert (job["status"], job["counts"]["sent"], job["counts"]["dead"]) == (
        "completed_with_errors", 18, 2,
    )  # fmt: skip
    dead = local.api(f"/jobs/{job_id}/records?status=dead")["records"]
    assert [d["error_code"] for d in dead] == ["PayloadMissing"] * 2
    assert {d["seq"] for d in dead} == gone
    kept = [line for seq, line in enumerate(data.splitlines()) if seq not in gone]
    assert Counter(local.stream()) == Counter(kept)
