"""The whole service through the local stack, driven as a user would: boto3, the HTTP API, the client."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.conftest import start_local


def events(n: int, start: int = 0) -> bytes:
    return b"".join(
        json.dumps({"i": i, "user": {"id": f"u{i % 7}"}}).encode() + b"\n"
        for i in range(start, start + n)
    )


def test_an_upload_lands_in_the_stream_exactly(local):
    # GIVEN the local stack, WHEN a file is dropped under the incoming prefix with plain boto3
    data = events(1500)
    local.s3.put_object(
        Bucket=local.state["bucket"], Key=local.state["incoming_prefix"] + "a.jsonl", Body=data
    )
    # THEN the job completes and the stream holds exactly the file's records
    job = local.wait_for_job()
    assert (job["status"], job["counts"]["sent"]) == ("completed", 1500)
    assert Counter(local.stream()) == Counter(data.splitlines())
    assert local.state["incoming_prefix"] == "incoming/" and local.state["api_url"].startswith(
        "http://127.0.0.1:"
    )


def test_the_client_follows_a_job_and_lists_its_rejections(local, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(events(20) + b"not json\n" + events(5, start=20))
    sent = local.cli("send", str(path), "--follow", "--json")
    assert sent.returncode == 0, sent.stderr
    job = json.loads(sent.stdout)
    assert job["status"] == "completed_with_errors"
    assert job["counts"] == {"records": 26, "sent": 25, "failed": 0, "rejected": 1, "dead": 0}
    failures = local.cli("failures", job["job_id"], "--json")
    [record] = json.loads(failures.stdout)["records"]
    assert (record["seq"], record["line"], record["status"]) == (20, 21, "rejected")
    status = json.loads(local.cli("status", job["job_id"], "--json").stdout)
    assert status["job_id"] == job["job_id"] and status["progress"] == 1.0


@pytest.fixture
def throttled(tmp_path):
    yield from start_local(tmp_path, "--fault", "kinesis-throttle=0.3", "--retry-delay", "1")


def test_with_throttling_every_record_arrives_and_the_counts_add_up(throttled):
    data = events(3000)
    throttled.s3.put_object(Bucket=throttled.state["bucket"], Key="incoming/t.jsonl", Body=data)
    job = throttled.wait_for_job(timeout=180, done=("completed", "completed_with_errors"))
    c = job["counts"]
    assert (job["status"], c["records"], c["sent"]) == ("completed", 3000, 3000)
    assert c["records"] == c["sent"] + c["failed"] + c["rejected"] + c["dead"]
    landed = Counter(throttled.stream())
    assert set(landed) == set(data.splitlines())


@pytest.fixture
def short_lived(tmp_path):
    # not about pacing: the stream's rates lifted, as each continuation's fresh pacer would wait them out
    yield from start_local(tmp_path, "--lambda-timeout", "2", "--no-limits")


def test_a_long_file_continues_across_short_invocations(short_lived):
    data = events(40000)
    short_lived.s3.put_object(
        Bucket=short_lived.state["bucket"], Key="incoming/long.jsonl", Body=data
    )
    job = short_lived.wait_for_job(timeout=300)
    assert job["status"] == "completed" and job["continuations"] >= 1, (
        job.get("error"),
        job["counts"],
    )
    landed = short_lived.stream()
    assert set(landed) == set(data.splitlines()) and job["counts"]["sent"] == 40000
    # each continuation hands on before its timeout; on a loaded machine one may still be killed at
    # it (a 2 s invocation keeps 0.3 s for its last checkpoint), re-sending its request in flight
    assert len(landed) - 40000 <= 2 * 500


def test_job_events_reach_the_events_command(local, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(events(3) + b"oops\n")
    sent = local.cli("send", str(path), "--follow", "--json")
    job_id = json.loads(sent.stdout)["job_id"]
    out = local.cli("events", "--json")
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    mine = [e["detail"] for e in got if e["detail"]["job_id"] == job_id]
    assert {(d["previous_status"], d["status"]) for d in mine} == {
        (None, "queued"), ("queued", "running"), ("running", "completed_with_errors"),
    }  # fmt: skip
    assert all(e["source"] == "s3-kinesis-loader" for e in got)
    assert local.cli("events").stdout == ""  # taken off the queue once read


def test_a_job_is_named_by_a_prefix_or_is_the_newest(local, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(events(5))
    job_id = json.loads(local.cli("send", str(path), "--follow", "--json").stdout)["job_id"]
    newest = json.loads(local.cli("status", "--json").stdout)
    by_prefix = json.loads(local.cli("status", job_id[:4], "--json").stdout)
    assert newest["job_id"] == by_prefix["job_id"] == job_id
    missing = local.cli("status", "zzzzzzzz")
    assert missing.returncode != 0 and "no job id starts with 'zzzzzzzz'" in missing.stderr
    listing = local.cli("jobs", env={"COLUMNS": "80"})
    assert job_id in listing.stdout  # never cut at 80 columns


def test_failures_show_each_bad_line_and_tail_follows_one_job(local, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(events(3) + b"{broken\n")
    job_id = json.loads(local.cli("send", str(path), "--follow", "--json").stdout)["job_id"]
    shown = local.cli("failures", env={"COLUMNS": "80"}).stdout
    assert "line 4  seq 3  rejected  MalformedJson  attempts 0" in shown
    assert "data:   {broken" in shown
    other = tmp_path / "other.jsonl"
    other.write_bytes(events(4, start=100))
    local.cli("send", str(other), "--follow")
    tailed = local.cli("tail", "--from-start", "--job", job_id[:5], "--timeout", "3", "--json")
    rows = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(r["data"] for r in rows) == sorted(events(3).decode().splitlines())
    assert all(r["partition_key"].startswith(job_id + ":") for r in rows)


def test_an_aggregated_upload_under_throttling_keeps_per_key_order_and_tail_de_aggregates(
    throttled, tmp_path
):
    # GIVEN a file keyed by a field with a hot key, sent aggregated (ordering per-key by default)
    path = tmp_path / "keyed.jsonl"
    path.write_bytes(
        b"".join(b'{"i": %d, "k": "k%d"}\n' % (i, 0 if i % 5 == 0 else i % 37) for i in range(2000))
    )
    sent = throttled.cli(
        "send", str(path), "--partition-key-field", "k", "--aggregate", "--follow", "--json"
    )
    job = json.loads(sent.stdout)
    assert (job["status"], job["counts"]["sent"]) == ("completed", 2000), sent.stderr
    # THEN the stream holds far fewer Kinesis records than user records
    assert len(throttled.stream()) < 200
    # AND tail de-aggregates (and says so): every record once, each key in file order per shard
    tailed = throttled.cli("tail", "--from-start", "--timeout", "4", "--json")
    rows = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert "de-aggregated 2,000 user records" in tailed.stderr
    assert sorted(json.loads(r["data"])["i"] for r in rows) == list(range(2000))
    last: dict[tuple[str, str], int] = {}
    for r in rows:
        record = json.loads(r["data"])
        assert r["partition_key"] == record["k"] and r["aggregated"] is True
        assert last.get((r["shard_id"], r["partition_key"]), -1) < record["i"]
        last[(r["shard_id"], r["partition_key"])] = record["i"]
