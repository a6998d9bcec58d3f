"""The sender against an in-memory stream: only failed entries are resent, with capped full-jitter
backoff; fatal call errors stop; each shard is paced, and throttling slows only its shard."""

import threading
import time

import pytest

from shared.delivery.outcomes import INTERNAL, THROTTLED, EntryResult, SendPolicy
from shared.delivery.pacing import PACING_MARGIN_S, ShardPacer
from shared.delivery.requests import PATIENCE, STALLED_ATTEMPTS
from shared.delivery.routing import NONE, Routing
from shared.delivery.sending import Sender
from shared.delivery.shards import ShardMap
from shared.domain.errors import StreamFatalError, StreamRetriableError
from shared.domain.models import Entry


class FakeStream:
    """Stores what it accepts; `fail(call, index, entry)` returns an error code or None."""

    def __init__(self, fail=lambda call, i, e: None, raise_on=None, latency=0.0):
        self.fail, self.raise_on, self.latency = fail, raise_on or {}, latency
        self.calls: list[list[int]] = []
        self.stored: list[int] = []
        self._lock = threading.Lock()

    def put_records(self, entries):
        with self._lock:
            call = len(self.calls)
            self.calls.append([e.seq for e in entries])
        if self.latency:
            time.sleep(self.latency * (1 + (entries[0].seq % 3)))
        if call in self.raise_on:
            raise self.raise_on[call]
        out = []
        for i, e in enumerate(entries):
            code = self.fail(call, i, e)
            if code:
                out.append(EntryResult(error_code=code, error_message=f"{code} injected"))
            else:
                with self._lock:
                    self.stored.append(e.seq)
                out.append(EntryResult("shardId-000000000000", f"seq-{e.seq}"))
        return out

    def shard_map(self, refresh=False):
        return ShardMap.even(1)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


def entries(n, start=0):
    return [Entry(i, i + 1, 0, b"d%d" % i, "k", 3) for i in range(start, start + n)]


def sender(stream, clock=None, jitter=lambda: 1.0, **policy):
    clock = clock or Clock()
    return Sender(stream, SendPolicy(**policy), clock=clock, sleep=clock.sleep, jitter=jitter)


def test_all_sent_first_time_report_shard_and_sequence():
    out = sender(FakeStream()).send(entries(3))
    assert [(s.entry.seq, s.shard_id, s.sequence_number, s.attempts) for s in out.sent] == [
        (0, "shardId-000000000000", "seq-0", 1),
        (1, "shardId-000000000000", "seq-1", 1),
        (2, "shardId-000000000000", "seq-2", 1),
    ]
    assert out.failed == [] and out.calls == 1


def test_only_failed_entries_are_resent_until_they_go_through():
    # GIVEN entries 1 and 3 throttled on the first two calls
    stream = FakeStream(fail=lambda call, i, e: THROTTLED if call < 2 and e.seq in (1, 3) else None)
    clock = Clock()
    out = sender(stream, clock).send(entries(5))
    # THEN only they are resent, each is stored exactly once, and attempts say so
    assert stream.calls == [[0, 1, 2, 3, 4], [1, 3], [1, 3]]
    assert sorted(stream.stored) == [0, 1, 2, 3, 4]
    assert {s.entry.seq: s.attempts for s in out.sent} == {0: 1, 1: 3, 2: 1, 3: 3, 4: 1}
    assert out.throttled == 4


def test_backoff_is_capped_exponential_with_full_jitter():
    stream = FakeStream(fail=lambda call, i, e: INTERNAL)
    clock = Clock()
    s = sender(stream, clock, max_attempts=7, base_delay_s=0.1, max_delay_s=1.0)
    s.routing = Routing(ordering=NONE)  # given up after max_attempts
    out = s.send(entries(1))
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    [failed] = out.failed
    assert (failed.error_code, failed.attempts) == (INTERNAL, 7)
    assert failed.error_message == "InternalFailure injected"
    draws = iter([0.5, 0.0, 0.25])
    s2 = sender(
        FakeStream(fail=lambda c, i, e: INTERNAL),
        Clock(),
        jitter=lambda: next(draws),
        max_attempts=4,
        base_delay_s=0.1,
    )
    assert [s2.backoff(k) for k in (1, 2, 3)] == pytest.approx([0.05, 0.0, 0.1])


def test_gives_up_when_the_deadline_would_pass():
    clock = Clock()
    out = sender(
        FakeStream(fail=lambda c, i, e: THROTTLED),
        clock,
        max_attempts=100,
        base_delay_s=1.0,
        max_delay_s=1.0,
        max_elapsed_s=3.5,
    ).send(entries(2))
    assert [f.attempts for f in out.failed] == [4, 4] and clock.now <= 3.5


def test_unknown_entry_error_is_reported_without_resending():
    stream = FakeStream(fail=lambda c, i, e: "KMSAccessDeniedException" if e.seq == 0 else None)
    out = sender(stream).send(entries(2))
    assert [(f.entry.seq, f.error_code, f.attempts) for f in out.failed] == [
        (0, "KMSAccessDeniedException", 1)
    ]
    assert stream.calls == [[0, 1]]


def test_fatal_call_error_propagates():
    stream = FakeStream(raise_on={0: StreamFatalError("ResourceNotFoundException", "no stream")})
    with pytest.raises(StreamFatalError, match="ResourceNotFoundException"):
        sender(stream).send(entries(2))


def test_a_failed_call_resends_the_whole_request():
    stream = FakeStream(raise_on={0: StreamRetriableError("ServiceUnavailable", "try later")})
    out = sender(stream).send(entries(3))
    assert stream.calls == [[0, 1, 2], [0, 1, 2]]
    assert [s.attempts for s in out.sent] == [2, 2, 2]


def test_send_all_keeps_submission_order_with_several_in_flight():
    stream = FakeStream(latency=0.002)
    requests = [entries(3, start=3 * k) for k in range(20)]
    out = list(Sender(stream, SendPolicy(max_in_flight=4)).send_all(iter(requests)))
    assert [[s.entry.seq for s in o.sent] for o in out] == [[e.seq for e in r] for r in requests]
    assert sorted(stream.stored) == list(range(60))


def test_send_all_draws_requests_lazily():
    drawn = []

    def requests():
        for k in range(10):
            drawn.append(k)
            yield entries(1, start=k)

    outcomes = Sender(FakeStream(), SendPolicy(max_in_flight=3)).send_all(requests())
    next(outcomes)
    assert len(drawn) <= 4


def test_fatal_error_stops_send_all():
    stream = FakeStream(raise_on={2: StreamFatalError("AccessDeniedException", "no")})
    with pytest.raises(StreamFatalError):
        list(
            Sender(stream, SendPolicy(max_in_flight=1)).send_all(
                entries(1, start=k) for k in range(5)
            )
        )
    assert len(stream.calls) == 3


def test_a_shard_is_paced_to_its_limits_from_a_full_bucket():
    clock = Clock()
    pacer = ShardPacer(1000, 1 << 20, clock=clock, sleep=clock.sleep)
    pacer.acquire({"a": [1000, 1000]})  # one second's worth goes at once
    assert clock.sleeps == []
    pacer.acquire({"a": [500, 500]})
    assert clock.sleeps == pytest.approx([0.5 + PACING_MARGIN_S])
    pacer.acquire({"a": [0, (1 << 20) + (1 << 18)]})  # now the bytes bind: 1.25 MiB at 1 MiB/s
    assert clock.sleeps[-1] == pytest.approx(0.25, abs=0.01)


def keyed(n, start=0):
    return [Entry(i, i + 1, 0, b"d%d" % i, f"k{i}", 3) for i in range(start, start + n)]


def test_a_pace_past_the_deadline_takes_nothing_and_does_not_sleep():
    clock = Clock()
    pacer = ShardPacer(1000, 1 << 20, clock=clock, sleep=clock.sleep)
    assert pacer.acquire({"a": [1000, 1000]})
    assert pacer.wait_for({"a": [500, 500]}) == pytest.approx(0.5 + PACING_MARGIN_S)
    assert not pacer.acquire({"a": [500, 500]}, until=0.4)
    assert clock.sleeps == [] and pacer.wait_for({"a": [500, 500]}) == pytest.approx(0.502)
    assert pacer.acquire({"a": [500, 500]}, until=0.6)
    assert clock.sleeps == pytest.approx([0.5 + PACING_MARGIN_S])


def test_entries_the_pace_would_send_past_the_deadline_fail_unsent():
    clock = Clock()
    stream = FakeStream()
    s = Sender(stream, SendPolicy(), clock=clock, sleep=clock.sleep,
               pacer=ShardPacer(1000, 1 << 20, clock=clock, sleep=clock.sleep))  # fmt: skip
    assert len(s.send(keyed(500, 0), deadline=1.0).sent) == 500
    assert len(s.send(keyed(500, 500), deadline=1.0).sent) == 500
    out = s.send(keyed(500, 1000), deadline=0.1)  # the bucket is empty: 0.5 s to wait
    assert [f.entry.seq for f in out.failed] == list(range(1000, 1500))
    assert {f.error_code for f in out.failed} == {THROTTLED} and len(stream.calls) == 2
    assert clock.sleeps == []


def test_send_all_starts_no_batch_past_start_by_nor_one_the_pace_cannot_let_out():
    clock = Clock()
    stream = FakeStream()
    s = Sender(stream, SendPolicy(max_in_flight=1), clock=clock, sleep=clock.sleep,
               pacer=ShardPacer(1000, 1 << 20, clock=clock, sleep=clock.sleep))  # fmt: skip
    drawn = []

    def batches():
        for k in range(10):
            drawn.append(k)
            yield keyed(400, start=400 * k)

    out = list(s.send_all(batches(), deadline=1.0, start_by=0.9))
    # batches go while the pace lets each out by 1.0; the one drawn next is not sent, and none fails
    assert sum(len(o.sent) for o in out) == 400 * len(out) == len(stream.stored)
    assert 1 <= len(out) < len(drawn) <= len(out) + 1
    assert clock() <= 1.0
    late = list(s.send_all(batches(), deadline=100.0, start_by=-1.0))
    assert len(late) == 1  # the first batch always goes: each invocation moves on


def test_throttling_cuts_only_its_shard_once_per_cooldown_and_success_grows_it_back():
    clock = Clock()
    pacer = ShardPacer(1000, 1 << 20, clock=clock, sleep=clock.sleep, cooldown_s=1.0)
    pacer.acquire({"a": [1, 1], "b": [1, 1]})
    pacer.on_throttle("a")
    pacer.on_throttle("a")  # the same congestion event
    assert pacer.fraction("a") == pytest.approx(0.7) and pacer.fraction("b") == 1.0
    clock.now += 1.5
    pacer.on_throttle("a")
    assert pacer.fraction("a") == pytest.approx(0.49)
    pacer.on_success("a")
    assert pacer.fraction("a") == pytest.approx(0.51)
    # The cut shard's bucket starts empty: 49 records at 490/s take 0.1 s; shard b is not slowed.
    before = len(clock.sleeps)
    pacer.acquire({"b": [900, 900]})
    assert len(clock.sleeps) == before
    pacer.acquire({"a": [51, 51]})
    assert clock.sleeps[-1] == pytest.approx(51 / 510 + PACING_MARGIN_S)


def test_per_key_gives_up_only_when_the_stream_takes_nothing():
    # GIVEN one entry that fails every time while the others go through (a shard throttled for good)
    stream = FakeStream(fail=lambda c, i, e: THROTTLED if e.seq == 0 else None)
    clock = Clock()
    s = sender(stream, clock, max_attempts=3)
    out = s.send(entries(4))
    # THEN it is given up only once STALLED_ATTEMPTS attempts in a row took nothing
    assert [f.attempts for f in out.failed] == [STALLED_ATTEMPTS + 1]
    # AND with a patience shorter than that, after PATIENCE times max_attempts
    s2 = sender(
        FakeStream(fail=lambda c, i, e: THROTTLED if e.seq == 0 else None), clock, max_attempts=2
    )
    assert [f.attempts for f in s2.send(entries(4)).failed] == [2 * PATIENCE]
    # AND in an outage (nothing taken), after max_attempts once the streak is long enough
    s3 = sender(FakeStream(fail=lambda c, i, e: THROTTLED), clock, max_attempts=12)
    assert [f.attempts for f in s3.send(entries(4)).failed] == [12] * 4
    # AND with ordering off, after max_attempts
    s_none = Sender(
        FakeStream(fail=lambda c, i, e: THROTTLED if e.seq == 0 else None),
        SendPolicy(max_attempts=3),
        routing=Routing(ordering=NONE),
        clock=clock,
        sleep=clock.sleep,
    )
    assert [f.attempts for f in s_none.send(entries(4)).failed] == [3]


class ReshardingStream(FakeStream):
    """Lands entries on two shards while its first listing said one, as after a split."""

    def __init__(self):
        super().__init__()
        self.maps = [ShardMap.even(1), ShardMap.even(2)]
        self.listings = 0

    def shard_map(self, refresh=False):
        self.listings += 1
        return self.maps[min(self.listings - 1, 1)]

    def put_records(self, entries):
        real = ShardMap.even(2)
        return [
            EntryResult(real.shards[real.index_for(e.partition_key)].shard_id, "1") for e in entries
        ]


def test_a_map_the_results_contradict_is_read_again_before_the_next_batch():
    stream = ReshardingStream()
    clock = Clock()
    s = Sender(stream, SendPolicy(), clock=clock, sleep=clock.sleep)
    batch = [Entry(i, i + 1, 0, b"x", f"key-{i}", 6) for i in range(50)]
    s.send_batch(batch)
    assert len(s.shard_map) == 1 and stream.listings == 1
    clock.now += 2  # refreshes are at most one a second
    s.send_batch([Entry(i, i + 1, 0, b"x", f"key-{i}", 6) for i in range(50, 100)])
    assert len(s.shard_map) == 2 and stream.listings == 2 and s.map_refreshes == 1
