"""The sender through the boto3 adapter against moto, with faults injected on the real client."""

import time

import boto3
import pytest

from loader.faults import KinesisFaults
from shared.delivery.outcomes import THROTTLED, SendPolicy
from shared.delivery.packing import pack, to_entries
from shared.delivery.partition_keys import record_id_key
from shared.delivery.routing import NONE, Routing
from shared.delivery.sending import Sender
from shared.domain.errors import StreamFatalError
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Record
from shared.stream.kinesis import KinesisStream
from tests.integration.conftest import REGION, read_stream


def requests_of(n: int, job: str = "job"):
    records = [Record(i, i + 1, 0, b'{"i":%d,"pad":"%s"}' % (i, b"x" * (i % 50))) for i in range(n)]
    limits = KinesisLimits(max_entries=100)
    return list(
        pack(
            (e for e in to_entries(records, record_id_key(job), limits) if isinstance(e, Entry)),
            limits,
        )
    )


class Sleeps:
    def __init__(self):
        self.calls = []

    def __call__(self, s):
        self.calls.append(s)


def test_records_land_once_with_their_keys(kinesis, stream_name):
    sender = Sender(KinesisStream(kinesis, stream_name), SendPolicy(max_in_flight=2))
    outcomes = list(sender.send_all(requests_of(250)))
    sent = [s for o in outcomes for s in o.sent]
    assert len(sent) == 250 and all(
        s.shard_id.startswith("shardId-") and s.sequence_number for s in sent
    )
    stored = read_stream(kinesis, stream_name)
    assert sorted(stored) == sorted((s.entry.data, s.entry.partition_key) for s in sent)


def test_injected_entry_failures_are_resent_alone_and_nothing_lands_twice(kinesis, stream_name):
    # GIVEN 30% of entries throttled and 10% failing internally on every call
    faults = KinesisFaults(throttle=0.3, internal=0.1, seed=7).install(kinesis)
    sleeps = Sleeps()
    policy = SendPolicy(max_attempts=12, base_delay_s=0.01, max_delay_s=0.05, max_in_flight=1)
    sender = Sender(KinesisStream(kinesis, stream_name), policy, sleep=sleeps)
    # WHEN 400 records are sent
    outcomes = list(sender.send_all(requests_of(400)))
    sent = [s for o in outcomes for s in o.sent]
    failed = [f for o in outcomes for f in o.failed]
    # THEN each ends sent or failed, the stream holds exactly the sent ones, and backoff happened
    assert sorted([s.entry.seq for s in sent] + [f.entry.seq for f in failed]) == list(range(400))
    stored = read_stream(kinesis, stream_name)
    assert len(stored) == len(sent) == len(set(stored))
    assert sorted(d for d, _ in stored) == sorted(s.entry.data for s in sent)
    assert faults.injected[THROTTLED] > 100
    assert any(s.attempts > 1 for s in sent) and sleeps.calls
    assert sum(o.calls for o in outcomes) > len(outcomes)


def test_entries_that_never_succeed_are_reported_failed_with_code_and_attempts(
    kinesis, stream_name
):
    KinesisFaults(
        chooser=lambda i, r: THROTTLED if r["PartitionKey"].endswith(":3") else None
    ).install(kinesis)
    sender = Sender(
        KinesisStream(kinesis, stream_name),
        SendPolicy(max_attempts=3, max_in_flight=1),
        routing=Routing(ordering=NONE),
        sleep=lambda s: None,
    )
    [outcome] = list(sender.send_all(requests_of(10)))
    [failed] = outcome.failed
    assert (failed.entry.seq, failed.error_code, failed.attempts) == (3, THROTTLED, 3)
    assert "Rate exceeded" in failed.error_message
    assert len(read_stream(kinesis, stream_name)) == 9


def test_an_outage_fails_every_entry_until_it_ends_then_the_stream_recovers(kinesis, stream_name):
    KinesisFaults(outage_seconds=0.3).install(kinesis)
    # unordered: an entry is given up after its one attempt (with per-key order, only once the
    # stream has taken nothing for ten attempts in a row)
    sender = Sender(
        KinesisStream(kinesis, stream_name), SendPolicy(max_attempts=1), routing=Routing(NONE)
    )
    [during] = list(sender.send_all(requests_of(50)[:1]))
    assert not during.sent and {f.error_code for f in during.failed} == {"InternalFailure"}
    time.sleep(0.35)
    [after] = list(sender.send_all(requests_of(50)[:1]))
    assert len(after.sent) == 50 and not after.failed
    assert len(read_stream(kinesis, stream_name)) == 50


def test_whole_call_throttles_are_retried(kinesis, stream_name):
    faults = KinesisFaults(call_throttle=0.5, seed=3).install(kinesis)
    sender = Sender(
        KinesisStream(kinesis, stream_name),
        SendPolicy(max_attempts=10, max_in_flight=1),
        sleep=lambda s: None,
    )
    outcomes = list(sender.send_all(requests_of(300)))
    assert sum(len(o.sent) for o in outcomes) == 300 and faults.injected["calls"] > 0
    assert len(read_stream(kinesis, stream_name)) == 300


def test_missing_stream_is_fatal(kinesis):
    with pytest.raises(StreamFatalError, match="ResourceNotFoundException"):
        Sender(KinesisStream(kinesis, "nope")).send(requests_of(1)[0])


def test_stream_arn_works_as_a_target(kinesis, stream_name):
    arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    [outcome] = list(Sender(KinesisStream(kinesis, arn)).send_all(requests_of(5)))
    assert len(outcome.sent) == 5


def test_limits_default_when_the_stream_does_not_say_and_are_read_once(kinesis, stream_name):
    calls = []
    kinesis.meta.events.register(
        "before-call.kinesis.DescribeStreamSummary", lambda **kw: calls.append(1)
    )
    stream = KinesisStream(kinesis, stream_name)
    assert stream.limits() == KinesisLimits()
    assert (
        KinesisStream(boto3.client("kinesis", region_name=REGION), stream_name).max_record_kib()
        == 1024
    )
    assert len(calls) == 1


def test_limits_follow_the_streams_max_record_size(kinesis, stream_name):
    def larger(parsed, **_):
        parsed["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] = 4096

    kinesis.meta.events.register("after-call.kinesis.DescribeStreamSummary", larger)
    limits = KinesisStream(kinesis, stream_name).limits(request_kib=10240)
    assert (limits.max_record_bytes, limits.max_request_bytes) == (4096 * 1024, 10240 * 1024)
