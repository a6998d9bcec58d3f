"""Many small files at once, and objects already in the bucket, through `loader local`."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import Running


def small(n: int, records: int = 20) -> dict[str, bytes]:
    return {
        f"small/f{i:04d}.jsonl": b"".join(
            b'{"file": %d, "i": %d}\n' % (i, j) for j in range(records)
        )
        for i in range(n)
    }


def wait_for(local: Running, count: int, timeout: float = 180.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = local.api("/jobs?limit=100")["jobs"]
        token = local.api("/jobs?limit=100").get("next_token")
        while token:
            page = local.api(f"/jobs?limit=100&next_token={token}")
            jobs += page["jobs"]
            token = page.get("next_token")
        done = [j for j in jobs if j["status"] in ("completed", "completed_with_errors", "failed")]
        if len(done) >= count:
            return done
        time.sleep(0.5)
    raise AssertionError(f"not every job finished within {timeout} s")


def test_many_small_files_arrive_exactly_once_with_exact_counts(local):
    files = small(120)
    prefix = local.state["incoming_prefix"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: local.s3.put_object(
            Bucket=local.state["bucket"], Key=prefix + kv[0], Body=kv[1]), files.items()))  # fmt: skip
    jobs = wait_for(local, len(files))
    assert {j["status"] for j in jobs} == {"completed"}
    assert sum(j["counts"]["sent"] for j in jobs) == 120 * 20
    expected = Counter(line for data in files.values() for line in data.splitlines())
    assert Counter(local.stream()) == expected


def test_backfill_ingests_objects_already_in_the_bucket_once(local, tmp_path):
    s3, bucket, prefix = local.s3, local.state["bucket"], local.state["incoming_prefix"]
    # GIVEN objects that arrived while nothing listened (the bucket's notifications off)
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    files = small(5, records=3)
    for key, data in files.items():
        s3.put_object(Bucket=bucket, Key=prefix + key, Body=data)
    s3.put_object(Bucket=bucket, Key=prefix + "other/x.jsonl", Body=b'{"x": 1}\n')
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
    assert local.api("/jobs")["jobs"] == []
    # WHEN backfilled (under one prefix), THEN each is ingested once
    first = local.cli("backfill", "--prefix", "small/", "--follow", "--json")
    assert first.returncode == 0, first.stderr
    figures = json.loads(first.stdout)
    assert (figures["queued"], figures["already_have_jobs"]) == (5, 0)
    assert figures["jobs"] == {"completed": 5}
    assert Counter(local.stream()) == Counter(
        line for data in files.values() for line in data.splitlines()
    )
    # AND a second backfill of everything runs only what has no job yet
    again = json.loads(local.cli("backfill", "--follow", "--json").stdout)
    assert (again["queued"], again["already_have_jobs"]) == (1, 5)
    assert len(local.stream()) == 16


def test_a_big_object_is_read_in_parallel_ranges_on_the_local_stack(tmp_path):
    from tests.e2e.conftest import start_local

    rows = [b'{"i": %d, "pad": "%s"}' % (i, b"z" * (i % 40)) for i in range(30_000)]
    rows[777] = b"not json"
    data = b"\n".join(rows) + b"\n"
    # about ranges, not pacing: the stream's rates lifted
    fanout = ("--env", "LOADER_FANOUT_MIN_BYTES=262144", "--env", "LOADER_FANOUT_MAX_PARALLEL=4")
    settings = (*fanout, "--no-limits")
    for local in start_local(tmp_path, *settings):
        local.s3.put_object(
            Bucket=local.state["bucket"],
            Key=local.state["incoming_prefix"] + "big.jsonl",
            Body=data,
        )
        job = local.wait_for_job(timeout=180)
        assert job["status"] == "completed_with_errors", job
        assert job["ranges"] == {"total": 4, "counted": 3, "done": 4}, job
        assert job["counts"] == {
            "records": 30_000,
            "sent": 29_999,
            "failed": 0,
            "rejected": 1,
            "dead": 0,
        }
        [bad] = local.api(f"/jobs/{job['job_id']}/records?status=rejected")["records"]
        assert (bad["seq"], bad["line"]) == (777, 778)
        assert Counter(local.stream()) == Counter(r for i, r in enumerate(rows) if i != 777)
        shown = local.cli("status", job["job_id"], env={"COLUMNS": "100"})
        assert shown.returncode == 0, shown.stderr
        assert "read in 4 parallel ranges: 4 done" in shown.stdout, shown.stdout
