"""One huge object cut into ranges read by parallel invocations (on fakes): exact seq and line, every
record once, counters exact and shared, the job finished once; duplicates, crashes, continuations and a
failing range behave as for one chain."""

from __future__ import annotations

import json
import random

import pytest

from shared.api.service import job_view
from shared.config import LoaderConfig
from shared.domain.errors import InputFileError, LedgerError
from shared.domain.limits import KinesisLimits
from shared.ingest.messages import parse_message
from shared.ingest.service import IngestPorts, IngestService
from tests.fakes import (
    FakeEvents,
    FakeJobs,
    FakeLedgerMoves,
    FakeObjects,
    FakeQueue,
    FakeRanges,
    FakeRecords,
    FakeStream,
)
from tests.lambda_helpers import FakeContext

BUCKET = "bucket"
MIN = 128 * 1024


@pytest.fixture
def ports() -> IngestPorts:
    jobs, records = FakeJobs(), FakeRecords()
    return IngestPorts(jobs, records, FakeObjects(), FakeStream(), FakeQueue(), FakeQueue(),
                       FakeEvents(), FakeLedgerMoves(jobs, records), FakeRanges(jobs))  # fmt: skip


def service(ports: IngestPorts, **settings) -> IngestService:
    settings = {
        "fanout_min_bytes": MIN,
        "fanout_max_parallel": 4,
        "default_ordering": "none",
        **settings,
    }
    config = LoaderConfig(bucket=BUCKET, stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry", ingest_queue_url="ingest", **settings)  # fmt: skip
    return IngestService(config, ports, sleep=lambda s: None)


def big_file(n: int = 9000, bad: tuple[int, ...] = (4321,)) -> tuple[bytes, dict[int, int]]:
    """JSON Lines with blank and CRLF lines; returns the bytes and, per record seq, its line."""
    out, lines, seq, line = [], {}, 0, 1
    for i in range(n):
        if i % 97 == 5:
            out.append(b"   ")  # blank: a line, not a record
            line += 1
        text = b"{oops" if i in bad else b'{"i": %d, "pad": "%s"}' % (i, b"x" * (i % 23))
        out.append(text + (b"\r" if i % 11 == 0 else b""))
        lines[seq] = line
        seq, line = seq + 1, line + 1
    return b"\n".join(out) + b"\n", lines


def drain(svc: IngestService, ports: IngestPorts, context=None, *, shuffle: int | None = None,
          repeat: bool = False) -> list[str]:  # fmt: skip
    """Run the ingest queue's messages until none is left (in a shuffled order when asked, each twice
    when `repeat`); the outcomes in order."""
    rng = random.Random(shuffle)
    outcomes = []
    queue = ports.ingest_queue
    while queue.sent:
        if shuffle is not None:
            rng.shuffle(queue.sent)
        body, _ = queue.sent.pop(0)
        for _ in range(2 if repeat else 1):
            [message] = parse_message(json.dumps(body))
            outcomes.append(svc.handle(message, context or FakeContext()).outcome)
    return outcomes


def sent_seqs(ports: IngestPorts, job_id: str) -> list[int]:
    return [int(key.split(":")[1]) for _, key in ports.stream.records if key.startswith(job_id)]


@pytest.mark.parametrize("order", [None, 1, 2])
def test_ranges_send_every_record_once_with_exact_ordinals(ports, order):
    data, lines = big_file()
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    svc = service(ports)
    assert svc.handle(ref, FakeContext()).outcome == "fanned_out"
    fan = ports.ranges.fanout(ref.job_id)
    assert fan.ranges == 4 and fan.format == "jsonl"
    outcomes = drain(svc, ports, shuffle=order)
    # the last range is never counted: no range follows it
    assert outcomes.count("counted") == 3 and outcomes.count("range_done") == 4
    job = ports.jobs.get(ref.job_id)
    assert job.status == "completed_with_errors"
    assert job.counts.as_dict() == {
        "records": 9000,
        "sent": 8999,
        "failed": 0,
        "rejected": 1,
        "dead": 0,
    }
    assert sorted(sent_seqs(ports, ref.job_id)) == [s for s in range(9000) if s != 4321]
    by_seq = {seq: d for d, key in ports.stream.records for seq in [int(key.split(":")[1])]}
    assert all(json.loads(by_seq[s])["i"] == s for s in range(0, 9000, 7) if s != 4321)
    [rejected] = ports.records.items.values()
    assert (rejected.seq, rejected.line, rejected.error_code) == (
        4321,
        lines[4321],
        "MalformedJson",
    )
    assert job.bytes_read == len(data) and job.cursor.seq == 9000
    assert job_view(job)["ranges"] == {"total": 4, "counted": 3, "done": 4}
    assert [(s, prev) for _, s, prev in ports.events.published] == [
        ("queued", None), ("running", "queued"), ("completed_with_errors", "running"),
    ]  # fmt: skip


def test_duplicate_messages_change_nothing(ports):
    data, _ = big_file(bad=())
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    svc = service(ports)
    svc.handle(ref, FakeContext())
    svc.handle(ref, FakeContext())  # a duplicate event while the ranges are queued
    drain(svc, ports, shuffle=3, repeat=True)
    assert sorted(sent_seqs(ports, ref.job_id)) == list(range(9000))
    job = ports.jobs.get(ref.job_id)
    assert (job.status, job.counts.sent, job.counts.records) == ("completed", 9000, 9000)
    assert svc.handle(ref, FakeContext()).outcome == "skipped"  # finished: nothing runs again


def test_ranges_continue_through_the_queue_when_time_runs_short(ports):
    data, _ = big_file(bad=())
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    ports.stream.limits_ = KinesisLimits(max_entries=100)  # batches of a few hundred records
    svc = service(ports, time_margin_seconds=5, checkpoint_every_requests=1)
    svc.handle(ref, FakeContext())
    clock = iter(range(10**6))
    short = FakeContext(remaining_s=lambda: 4 if next(clock) % 3 == 2 else 100)
    outcomes = drain(svc, ports, short, shuffle=4)
    assert outcomes.count("continued") > 0
    assert sorted(sent_seqs(ports, ref.job_id)) == list(range(9000))
    assert ports.jobs.get(ref.job_id).status == "completed"


def counted(ports: IngestPorts) -> tuple[IngestService, str]:
    """A big object cut and counted: its send messages wait on the queue."""
    data, _ = big_file(bad=())
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    ports.stream.limits_ = KinesisLimits(max_entries=100)
    svc = service(ports, checkpoint_every_requests=1)
    svc.handle(ref, FakeContext())
    counts = list(ports.ingest_queue.sent)
    ports.ingest_queue.sent.clear()
    for body, _ in counts:
        [message] = parse_message(json.dumps(body))
        assert svc.handle(message, FakeContext()).outcome == "counted"
    return svc, ref.job_id


def test_a_range_whose_checkpoint_fails_is_redelivered_and_resumes(ports):
    svc, job_id = counted(ports)
    ports.ranges.fail_next("record_progress", LedgerError("throttled"), times=1)
    first, _ = ports.ingest_queue.sent[0]
    [message] = parse_message(json.dumps(first))
    with pytest.raises(LedgerError):
        svc.handle(message, FakeContext())  # raised: the queue redelivers it
    drain(svc, ports)  # the other ranges, then the redelivery
    [message] = parse_message(json.dumps(first))
    svc.handle(message, FakeContext())
    seqs = sent_seqs(ports, job_id)
    assert set(seqs) == set(range(9000))  # nothing lost; the batch in flight may go twice
    assert len(seqs) - 9000 <= 500
    job = ports.jobs.get(job_id)
    assert (job.status, job.counts.sent, job.counts.records) == ("completed", 9000, 9000)


def test_a_range_that_cannot_read_fails_the_job_and_the_others_stop(ports):
    svc, job_id = counted(ports)
    ports.objects.fail_after_bytes = 30_000
    ports.objects.fail_next("chunks", InputFileError("the object changed during the job"))
    outcomes = drain(svc, ports)
    job = ports.jobs.get(job_id)
    assert job.status == "failed" and "changed" in job.error
    assert outcomes[0] == "failed"
    assert job.counts.records == job.counts.sent == len(sent_seqs(ports, job_id))


@pytest.mark.parametrize(
    ("name", "data", "settings"),
    [
        ("incoming/small.jsonl", b'{"a": 1}\n' * 100, {}),
        ("incoming/big.csv", b"a,b\n" + b"1,2\n" * 60_000, {}),
        ("incoming/keyed.jsonl", b'{"k": 1}\n' * 40_000, {"default_partition_key_field": "k",
                                                          "default_ordering": "per-key"}),
    ],
)  # fmt: skip
def test_objects_that_are_not_cut_run_as_one_chain(ports, name, data, settings):
    ref = ports.objects.add(BUCKET, name, data)
    report = service(ports, **settings).handle(ref, FakeContext())
    assert report.outcome == "completed"
    assert ports.ranges.fanout(ref.job_id) is None


def test_a_duplicate_event_while_ranges_run_keeps_their_ledger_items(ports):
    data, lines = big_file()
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    svc = service(ports)
    svc.handle(ref, FakeContext())
    counts = list(ports.ingest_queue.sent)
    ports.ingest_queue.sent.clear()
    for body, _ in counts:
        [message] = parse_message(json.dumps(body))
        svc.handle(message, FakeContext())
    sends = list(ports.ingest_queue.sent)
    ports.ingest_queue.sent.clear()
    for body, _ in sends[:-1]:  # every range but the last is sent; the rejected record is ledgered
        [message] = parse_message(json.dumps(body))
        assert svc.handle(message, FakeContext()).outcome == "range_done"
    assert len(ports.records.items) == 1
    # WHEN the upload's event comes again while the last range waits
    assert svc.handle(ref, FakeContext()).outcome == "fanned_out"
    # THEN the ranges' ledger is untouched, and the job ends with it
    assert len(ports.records.items) == 1
    ports.ingest_queue.sent.extend(sends[-1:])
    drain(svc, ports)
    job = ports.jobs.get(ref.job_id)
    assert (job.status, job.counts.rejected, job.counts.sent) == ("completed_with_errors", 1, 8999)
    [rejected] = ports.records.items.values()
    assert (rejected.seq, rejected.line) == (4321, lines[4321])


def test_a_range_that_cannot_fail_a_leased_job_hands_its_message_back(ports):
    svc, job_id = counted(ports)
    stored = ports.jobs.jobs[job_id]
    stored.lease_owner, stored.lease_expires = "a-duplicate-event", 10**12  # its run holds the job
    body, _ = ports.ingest_queue.sent.pop(0)
    [message] = parse_message(json.dumps(body))
    ports.objects.fail_after_bytes = 0  # the read fails at its first chunk
    ports.objects.fail_next("chunks", InputFileError("the object changed during the job"))
    with pytest.raises(LedgerError, match="changed"):
        svc.handle(message, FakeContext())  # not left running without this range: redelivered
    assert ports.jobs.get(job_id).status == "running"
    stored.lease_owner, stored.lease_expires = None, 0.0
    ports.objects.fail_next("chunks", InputFileError("the object changed during the job"))
    assert svc.handle(message, FakeContext()).outcome == "failed"
    assert ports.jobs.get(job_id).status == "failed"


def test_a_count_that_cannot_fail_a_leased_job_hands_its_message_back(ports):
    data, _ = big_file(bad=())
    ref = ports.objects.add(BUCKET, "incoming/big.jsonl", data)
    svc = service(ports)
    svc.handle(ref, FakeContext())
    body, _ = ports.ingest_queue.sent.pop(0)
    [message] = parse_message(json.dumps(body))
    stored = ports.jobs.jobs[ref.job_id]
    stored.lease_owner, stored.lease_expires = "a-duplicate-event", 10**12
    ports.objects.fail_after_bytes = 0
    ports.objects.fail_next("chunks", InputFileError("the object changed during the job"))
    with pytest.raises(LedgerError, match="changed"):
        svc.handle(message, FakeContext())
    stored.lease_owner, stored.lease_expires = None, 0.0
    ports.objects.fail_next("chunks", InputFileError("the object changed during the job"))
    assert svc.handle(message, FakeContext()).outcome == "failed"
    assert ports.jobs.get(ref.job_id).status == "failed"


def test_a_finish_that_fails_is_done_by_the_redelivery_of_the_last_range(ports):
    svc, job_id = counted(ports)
    sends = list(ports.ingest_queue.sent)
    ports.ingest_queue.sent.clear()
    for body, _ in sends[:-1]:
        [message] = parse_message(json.dumps(body))
        svc.handle(message, FakeContext())
    ports.jobs.fail_next("record_progress", LedgerError("throttled"))  # the job's finishing write
    [last] = parse_message(json.dumps(sends[-1][0]))
    with pytest.raises(LedgerError):
        svc.handle(last, FakeContext())
    assert ports.jobs.get(job_id).status == "running" and ports.jobs.get(job_id).lease_owner is None
    svc.handle(last, FakeContext())  # the redelivery: its range is done, the job is finished now
    job = ports.jobs.get(job_id)
    assert (job.status, job.counts.sent) == ("completed", 9000)
