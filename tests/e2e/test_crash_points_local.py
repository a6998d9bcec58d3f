"""Crash points on the local stack, driven as a user would (`loader local --crash POINT[:N]`): the
invocation that reaches an armed point dies there, its message comes back after the visibility
timeout, and the job still ends with every record in the stream. The API's one write is killed at
before and after it: the caller sees a 502 and asks again."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

from tests.e2e.conftest import start_local


def records(n: int) -> bytes:
    return b"".join(json.dumps({"i": i}).encode() + b"\n" for i in range(n))


def test_an_ingest_killed_at_its_writes_still_lands_every_record(tmp_path):
    points = ("ingest.stream.put_records.after:3", "ingest.jobs.record_progress.before:2",
              "ingest.records.delete_from.after", "ingest.ingest_queue.send.before")  # fmt: skip
    args = [a for p in points for a in ("--crash", p)]
    for running in start_local(tmp_path, "--lambda-timeout", "3", *args):
        data = records(6000)
        running.s3.put_object(Bucket=running.state["bucket"], Key="incoming/c.jsonl", Body=data)
        job = running.wait_for_job(timeout=240)
        c = job["counts"]
        assert (job["status"], c["records"], c["sent"]) == ("completed", 6000, 6000), job
        landed = Counter(running.stream())
        assert set(landed) == set(data.splitlines())
        # a crash re-sends at most the batch in flight: one request a shard (2 shards of 500)
        assert sum(landed.values()) - 6000 <= 2 * 1000
        assert len(running.api("/jobs")["jobs"]) == 1


def post(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_retry_request_killed_before_or_after_it_is_queued_is_asked_again(tmp_path):
    for running in start_local(
        tmp_path, "--fault", "kinesis-outage=6", "--retry-delay", "900",
        "--env", "LOADER_MAX_ATTEMPTS=2",
        "--crash", "api.retry_queue.send.before", "--crash", "api.retry_queue.send.after",
    ):  # fmt: skip
        data = records(300)
        running.s3.put_object(Bucket=running.state["bucket"], Key="incoming/r.jsonl", Body=data)
        job = running.wait_for_job(timeout=60, done=("retrying",))  # the outage failed them
        failed = job["counts"]["failed"]
        assert failed > 0
        url = f"{running.state['api_url']}/jobs/{job['job_id']}/retry"
        answers = [post(url) for _ in range(3)]
        assert [status for status, _ in answers] == [502, 502, 202]
        assert "crash point api.retry_queue.send.before" in answers[0][1]["message"]
        assert "crash point api.retry_queue.send.after" in answers[1][1]["message"]
        assert answers[2][1]["queued"] == failed
        job = running.wait_for_job(timeout=120, done=("completed",))
        assert job["counts"] == {"records": 300, "sent": 300, "failed": 0, "rejected": 0, "dead": 0}
        assert Counter(running.stream()) == Counter(data.splitlines())  # no record twice
