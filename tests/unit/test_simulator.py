"""The shard-capacity simulator enforces its limits, so the benchmark's utilization figure means something."""

from bench.simulator import RECORDS_PER_S, ShardSimulator, VirtualClock
from shared.delivery.outcomes import THROTTLED
from shared.domain.models import Entry


def entries(n, key=lambda i: f"k{i}"):
    return [Entry(i, i + 1, 0, b"x" * 10, key(i), 10 + len(key(i))) for i in range(n)]


def test_one_shard_takes_a_second_of_records_then_throttles():
    clock = VirtualClock()
    sim = ShardSimulator(1, clock, call_latency_s=0.0)
    results = (
        sim.put_records(entries(500)) + sim.put_records(entries(500)) + sim.put_records(entries(10))
    )
    assert sum(1 for r in results if r.error_code is None) == RECORDS_PER_S
    assert [r.error_code for r in results[-10:]] == [THROTTLED] * 10
    clock.sleep(0.5)
    assert sum(1 for r in sim.put_records(entries(600)) if r.error_code is None) == 500


def test_keys_spread_over_shards_by_md5():
    sim = ShardSimulator(4, VirtualClock(), call_latency_s=0.0)
    sim.put_records(entries(400))
    assert all(60 < n < 140 for n in sim.per_shard)
    assert len({sim.shard_map().index_for("same") for _ in range(5)}) == 1
