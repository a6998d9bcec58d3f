"""The local stack's stream holds writers to Kinesis's limits, and the loader keeps to them: a plain
writer is throttled at 1,000 records a second per shard, a stream's MaxRecordSizeInKiB is reported and
followed by the loader, and `--no-limits` lifts the rates but not the other limits."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Running, start_local

MIB = 1024 * 1024


def burst(running: Running, seconds: float) -> tuple[int, int, float]:
    """A plain writer, as a hand-written script would be: 500 entries a call, as fast as it can,
    for `seconds`. Returns (entries taken, entries throttled, seconds it ran)."""
    stream = running.state["stream"]
    records = [{"Data": b"b" * 50, "PartitionKey": f"k{n}"} for n in range(500)]
    took = throttled = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        answer = running.kinesis.put_records(StreamName=stream, Records=records)
        codes = Counter(r.get("ErrorCode") for r in answer["Records"])
        took += codes.pop(None, 0)
        throttled += codes.pop("ProvisionedThroughputExceededException", 0)
        assert not codes, codes
    return took, throttled, time.monotonic() - start


@pytest.fixture
def one_shard(tmp_path: Path) -> Iterator[Running]:
    yield from start_local(tmp_path, "--shards", "1", "--max-record-kib", "2048")


def test_the_local_stream_throttles_and_the_loader_keeps_to_its_limits(one_shard, tmp_path):
    summary = one_shard.kinesis.describe_stream_summary(StreamName=one_shard.state["stream"])
    assert summary["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 2048

    took, throttled, elapsed = burst(one_shard, 2.5)
    assert throttled > 0
    # the calls spanned at most ceil(elapsed) + 1 seconds of the clock, 1,000 records each
    assert took <= 1000 * (math.ceil(elapsed) + 1)

    # the loader reads the stream's record cap: a line of 1.5 MiB goes in, not rejected as oversized
    big = json.dumps({"id": "big", "pad": "p" * (3 * MIB // 2)}).encode()
    lines = [json.dumps({"id": n}).encode() for n in range(2500)]
    path = tmp_path / "paced.jsonl"
    path.write_bytes(b"\n".join([*lines, big]) + b"\n")
    sent = one_shard.cli("send", str(path), "--follow", "--json")
    assert sent.returncode == 0, sent.stderr
    job = json.loads(sent.stdout)
    assert (job["status"], job["counts"]["sent"]) == ("completed", 2501), job
    landed = Counter(one_shard.stream())
    assert all(landed[line] == 1 for line in [*lines, big])


def test_without_limits_a_plain_writer_is_not_throttled(tmp_path):
    for running in start_local(tmp_path, "--shards", "1", "--no-limits"):
        took, throttled, _ = burst(running, 1.5)
        assert throttled == 0 and took >= 2000  # well past one shard's 1,000 records a second
        with pytest.raises(Exception, match="ValidationException"):  # the other limits stay
            running.kinesis.put_records(
                StreamName=running.state["stream"],
                Records=[{"Data": b"x", "PartitionKey": "k"}] * 501,
            )
