"""The shard map, KPL aggregation and the routing of batches into lanes: every record exactly once,
no aggregate over the record limit, no request over the cap, a key once per request, per-key order."""

from __future__ import annotations

import base64
import hashlib

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records
from hypothesis import given
from hypothesis import strategies as st

from shared.delivery.aggregation import FRAMING_BYTES, Aggregator, aggregate, deaggregate
from shared.delivery.routing import NONE, PER_KEY, Routing, plan_batch
from shared.delivery.shards import MAX_HASH_KEY, ShardMap, ShardRange, hash_key
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry


def entry(seq: int, key: str, data: bytes) -> Entry:
    return Entry(seq, seq + 1, 0, data, key, len(data) + len(key.encode("utf-8")))


def kcl_view(entries: list[Entry]) -> list[tuple[str, bytes]]:
    """What a consumer that de-aggregates with aws-kinesis-agg sees, in order."""
    records = [
        {"kinesis": {"kinesisSchemaVersion": "1.0", "sequenceNumber": str(i),
                     "approximateArrivalTimestamp": 0, "partitionKey": e.partition_key,
                     "data": base64.b64encode(e.data).decode()}}
        for i, e in enumerate(entries)
    ]  # fmt: skip
    return [
        (r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]))
        for r in deaggregate_records(records)
    ]


# -- the shard map -------------------------------------------------------------------------
def test_hash_key_is_the_md5_of_the_key_as_a_128_bit_integer():
    assert hash_key("a") == int(hashlib.md5(b"a").hexdigest(), 16)
    assert hash_key("é") == int(hashlib.md5("é".encode()).hexdigest(), 16)


def test_even_map_covers_the_hash_key_space_and_routes_by_range():
    m = ShardMap.even(3)
    assert m.shards[0].start == 0 and m.shards[-1].end == MAX_HASH_KEY
    assert all(a.end + 1 == b.start for a, b in zip(m.shards, m.shards[1:], strict=False))
    assert [m.index_of(k) for k in (0, m.shards[1].start - 1, m.shards[1].start, MAX_HASH_KEY)] == [
        0, 0, 1, 2,
    ]  # fmt: skip
    assert m.index_for("ignored", str(m.shards[2].start)) == 2  # an explicit hash key wins


def test_list_shards_keeps_only_open_shards():
    listing = [
        {"ShardId": "parent", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(MAX_HASH_KEY)},
         "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "9"}},
        {"ShardId": "b", "HashKeyRange": {"StartingHashKey": "100", "EndingHashKey": str(MAX_HASH_KEY)},
         "SequenceNumberRange": {"StartingSequenceNumber": "10"}},
        {"ShardId": "a", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "99"},
         "SequenceNumberRange": {"StartingSequenceNumber": "10"}},
    ]  # fmt: skip
    m = ShardMap.from_list_shards(listing)
    assert m.shards == (ShardRange("a", 0, 99), ShardRange("b", 100, MAX_HASH_KEY))


# -- aggregation ---------------------------------------------------------------------------
def test_an_aggregate_is_the_kpl_format_and_aws_kinesis_agg_reads_it_back():
    records = [entry(i, f"key-{i % 3}", b"payload %d" % i) for i in range(10)]
    [agg] = list(aggregate(records, 1 << 20))
    assert agg.data[:4] == b"\xf3\x89\x9a\xc2"
    assert agg.data[-16:] == hashlib.md5(agg.data[4:-16]).digest()
    assert agg.size == len(agg.data) + len(agg.partition_key) and agg.members == records
    assert agg.explicit_hash_key == str(hash_key("key-0"))
    assert kcl_view([agg]) == [(e.partition_key, e.data) for e in records]
    assert [(u.partition_key, u.data) for u in deaggregate(agg.data) or []] == kcl_view([agg])


def test_a_lone_record_goes_as_itself_and_plain_data_is_not_taken_for_an_aggregate():
    [one] = list(aggregate([entry(0, "k", b"x")], 1 << 20))
    assert one.members is None and one.data == b"x"
    assert deaggregate(b"\xf3\x89\x9a\xc2 not really") is None
    assert deaggregate(b"plain") is None


def test_a_record_too_big_to_frame_goes_alone():
    limit = 100
    big = entry(1, "k", b"y" * (limit - 1))  # fits as itself, not with the framing
    out = list(aggregate([entry(0, "k", b"a"), big, entry(2, "k", b"b")], limit))
    assert [e.members is None for e in out] == [True, True, True]
    assert [e.seq for e in out] == [0, 1, 2]


keys = st.text(min_size=1, max_size=8) | st.sampled_from(["hot", "k1", "k2"])
records = st.lists(st.tuples(keys, st.binary(max_size=300)), min_size=1, max_size=120)


@given(records, st.integers(min_value=FRAMING_BYTES + 40, max_value=4000))
def test_aggregates_are_exactly_sized_never_over_the_limit_and_keep_every_record(recs, limit):
    entries = [entry(i, k, d) for i, (k, d) in enumerate(recs) if len(d) + len(k.encode()) <= limit]
    out = list(aggregate(entries, limit))
    for e in out:
        assert e.size == len(e.data) + len(e.partition_key.encode()) <= limit
    assert kcl_view(out) == [(e.partition_key, e.data) for e in entries]


def test_the_aggregator_predicts_its_size_before_adding():
    agg = Aggregator(1 << 20)
    for i in range(300):
        e = entry(i, f"k{i % 7}", b"z" * (i % 50))
        predicted = agg.size_with(e)
        agg.add(e)
        assert agg.size == predicted
    assert agg.to_entry().size == agg.size


# -- routing -----------------------------------------------------------------------------
def shard_of(m: ShardMap, e: Entry) -> int:
    return m.index_for(e.partition_key, e.explicit_hash_key)


@given(
    records,
    st.integers(min_value=1, max_value=5),
    st.sampled_from([PER_KEY, NONE]),
    st.booleans(),
    st.integers(min_value=1, max_value=4),
)
def test_a_batch_plan_sends_every_record_once_within_every_limit(
    recs, shards, ordering, agg, lanes
):
    limits = KinesisLimits(max_record_bytes=2048, max_request_bytes=6000, max_entries=7)
    m = ShardMap.even(shards)
    entries = [entry(i, k, d) for i, (k, d) in enumerate(recs) if len(d) + len(k.encode()) <= 2048]
    routing = Routing(ordering, agg, lanes, shard_bytes_per_request=5000)
    plan = plan_batch(entries, m, limits, routing)
    requests = plan.requests
    seen = []
    for request in requests:
        assert 0 < len(request) <= limits.max_entries
        assert sum(u.size for u in request) <= limits.max_request_bytes
        per_shard: dict[int, list[int]] = {}
        for unit in request:
            assert unit.size <= limits.effective_record_bytes
            per_shard.setdefault(unit.shard, []).append(unit.size)
            assert shard_of(m, unit) == unit.shard
            # every user record of an aggregate hashes into the shard the aggregate is routed to
            for member in unit.members or [unit]:
                assert m.index_for(member.partition_key) == unit.shard
                seen.append(member.seq)
        for sizes in per_shard.values():
            assert len(sizes) == 1 or sum(sizes) <= 5000
        if ordering == PER_KEY:
            request_keys = [m.partition_key for u in request for m in (u.members or [u])]
            by_unit = [{m.partition_key for m in (u.members or [u])} for u in request]
            assert sum(len(s) for s in by_unit) == len(set().union(*by_unit))  # a key in one unit
            assert len(request_keys) >= len(set(request_keys))
    assert sorted(seen) == [e.seq for e in entries]
    if ordering == PER_KEY:
        # no shard in two lanes (side by side), and per key, file order through its lane's requests
        # and then the tail's (sent after every lane)
        lanes_of_shard: dict[int, set[int]] = {}
        order: dict[str, list[int]] = {}
        for n, lane in enumerate(plan.lanes):
            for request in lane:
                for unit in request:
                    lanes_of_shard.setdefault(unit.shard, set()).add(n)
                    for member in unit.members or [unit]:
                        order.setdefault(member.partition_key, []).append(member.seq)
        for request in plan.tail:
            for unit in request:
                for member in unit.members or [unit]:
                    order.setdefault(member.partition_key, []).append(member.seq)
        assert all(v == sorted(v) for v in order.values())
        assert all(len(v) == 1 for v in lanes_of_shard.values())


def test_per_key_layers_fill_early_requests_with_other_keys():
    m = ShardMap.even(1)
    entries = [entry(i, k, b"x") for i, k in enumerate(["hot", "a", "hot", "b", "hot", "c"])]
    [lane] = plan_batch(entries, m, KinesisLimits(), Routing(PER_KEY)).lanes
    assert [[e.seq for e in r] for r in lane] == [[0, 1, 3, 5], [2], [4]]
    [lane] = plan_batch(entries, m, KinesisLimits(), Routing(PER_KEY, aggregate=True)).lanes
    assert [[e.seq for e in r] for r in lane] == [[0]] and len(lane[0][0].members or []) == 6
    [[request]] = plan_batch(entries, m, KinesisLimits(), Routing(NONE)).lanes
    assert [e.seq for e in request] == [0, 1, 2, 3, 4, 5]


def test_lanes_remainders_share_requests_after_every_lane():
    m = ShardMap.even(4)
    entries = [entry(i, f"key-{i}", b"x") for i in range(2100)]
    plan = plan_batch(entries, m, KinesisLimits(), Routing(PER_KEY))
    assert plan.lanes and plan.tail
    assert len(plan.requests) == 5  # the fewest the 500-entry limit allows
    assert len({u.shard for u in plan.tail[0]}) > 1


def test_unknown_ordering_is_refused():
    with pytest.raises(ValueError, match="ordering"):
        Routing("sometimes")
