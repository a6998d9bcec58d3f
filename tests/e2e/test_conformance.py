"""Conformance cases in the style of the Benthos/Redpanda Connect integration suite, on the local
stack: at-least-once through a restart, lossy parallel streams, checkpoints under out-of-order
acknowledgements, saturation then recovery. Each checks what a consumer of the stream sees."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from tests.e2e.conftest import start_local


def keyed(name: str, n: int, keys: int = 13) -> bytes:
    return b"".join(
        json.dumps({"file": name, "i": i, "user": f"u{i % keys}"}).encode() + b"\n"
        for i in range(n)
    )


def in_order_per_key(landed: list[bytes]) -> bool:
    """Each (file, user)'s records arrive in file order (the stream lists each shard in order)."""
    seen: dict[tuple[str, str], int] = defaultdict(lambda: -1)
    for data in landed:
        r = json.loads(data)
        if r["i"] <= seen[(r["file"], r["user"])]:
            return False
        seen[(r["file"], r["user"])] = r["i"]
    return True


def test_at_least_once_through_a_restart(tmp_path):
    # acknowledged (written) but not yet checkpointed: the restarted invocation sends them again
    for running in start_local(tmp_path, "--lambda-timeout", "5",
                               "--crash", "ingest.stream.put_records.after:2"):  # fmt: skip
        data = keyed("a", 4000)
        running.s3.put_object(Bucket=running.state["bucket"], Key="incoming/a.jsonl", Body=data)
        job = running.wait_for_job(timeout=120)
        assert (job["status"], job["counts"]["sent"]) == ("completed", 4000)
        landed = Counter(running.stream())
        assert set(landed) == set(data.splitlines())  # every record back, some twice
        assert (
            0 < sum(landed.values()) - 4000 <= 1000
        )  # the requests in flight (2 shards, 500 each)


def test_lossy_parallel_streams_deliver_everything_once_in_key_order(tmp_path):
    # a tenth of the entries fail (per entry, as Kinesis reports it): resent, never duplicated; the
    # shards' lanes acknowledge out of order, and a job checkpoints only what all of them settled
    for running in start_local(tmp_path, "--fault", "kinesis-internal=0.1", "--retry-delay", "1"):
        files = {f"p{n}": keyed(f"p{n}", 1500) for n in range(4)}
        for name, body in files.items():
            running.s3.put_object(
                Bucket=running.state["bucket"], Key=f"incoming/{name}.jsonl", Body=body,
                Metadata={"partition-key-field": "user"},
            )  # fmt: skip
        jobs = running.wait_for_jobs(4, timeout=180)
        assert {j["status"] for j in jobs} == {"completed"}
        landed = running.stream()
        expected = [line for body in files.values() for line in body.splitlines()]
        assert Counter(landed) == Counter(expected)
        assert in_order_per_key(landed)


def test_saturation_then_recovery(tmp_path):
    # the stream takes nothing for a while (every entry refused), then recovers: the records the
    # ingest gave up on go out in the retry rounds, and the job completes with each record once
    for running in start_local(tmp_path, "--fault", "kinesis-outage=4", "--retry-delay", "2"):
        data = keyed("s", 3000)
        running.s3.put_object(Bucket=running.state["bucket"], Key="incoming/s.jsonl", Body=data)
        job = running.wait_for_job(timeout=180, done=("completed", "failed"))
        c = job["counts"]
        assert (job["status"], c["sent"], c["failed"], c["dead"]) == ("completed", 3000, 0, 0)
        assert Counter(running.stream()) == Counter(data.splitlines())
