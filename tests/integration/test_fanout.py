"""A huge object cut into ranges, on moto: the ranges' state on the job's item, every record once with
its exact seq and line, and the job finished once."""

from __future__ import annotations

import random

import pytest

from shared.api.service import job_view
from shared.jobs.items import job_from_values
from tests.helpers import datas, read
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of, stream_data


def big(n: int) -> bytes:
    rows = [b'{"i": %d, "pad": "%s"}' % (i, b"y" * (i % 31)) for i in range(n)]
    rows[1234] = b"{not json"
    rows[2000] = b""  # a blank line: a line, not a record
    return b"\n".join(rows) + b"\n"


@pytest.fixture
def stack(aws, monkeypatch):
    return moto_stack.create(
        monkeypatch, shards=2, LOADER_MAX_REQUEST_KIB="16", LOADER_CHECKPOINT_EVERY_REQUESTS="1",
        LOADER_FANOUT_MIN_BYTES=str(128 * 1024),
        LOADER_FANOUT_MAX_PARALLEL="3", LOADER_DEFAULT_ORDERING="none",
    )  # fmt: skip


def test_a_big_object_is_read_by_ranges_in_parallel(stack):
    data = big(12_000)
    note = stack.upload("big.jsonl", data)
    job_id = job_id_of(note)
    invoke(stack, note)
    assert stack.job(job_id)["fanout"]["starts"][-1] == len(data)
    rounds = 0
    rng = random.Random(7)
    while messages := stack.messages(stack.ingest_queue_url):
        rounds += 1
        rng.shuffle(messages)
        assert {m["type"] for m in messages} == {"range"}
        # one batch, one message twice (in the first round): the invocation runs one message and
        # hands the others on to the queue, for invocations of their own
        invoke(stack, *messages, *(messages[:1] if rounds == 1 else []))
    assert rounds <= 12
    expected = datas(read(data, "big.jsonl"))
    assert sorted(stream_data(stack)) == sorted(expected) and len(expected) == 11_998
    job = stack.job(job_id)
    assert (job["status"], job["n_records"], job["n_sent"], job["n_rejected"]) == (
        "completed_with_errors", 11_999, 11_998, 1,
    )  # fmt: skip
    assert job["bytes_read"] == len(data) and job["ranges_done"] == 3
    view = job_view(job_from_values(job))
    assert view["ranges"] == {"total": 3, "counted": 2, "done": 3} and view["progress"] == 1.0
    [item] = stack.records(job_id)
    assert (item["seq"], item["line"], item["status"]) == (1234, 1235, "rejected")
