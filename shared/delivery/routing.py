"""From a batch of entries to lanes of PutRecords requests, shard by shard.

Every entry is routed to the shard its key hashes into (`shared/delivery/shards.py`). With aggregation on, each
shard's records are gathered into aggregates (`shared/delivery/aggregation.py`). Then:

- `ordering=per-key`: the shards are dealt into lanes; a lane's requests go out one after another (the
  sender resends a request's failed entries before the lane's next request), lanes run side by side.
  So no shard ever has two requests in flight. Within a lane, requests come in *layers*: an entry goes
  into the layer after the last one holding any of its keys, so a key appears at most once per request
  and its records go out in file order, while records of other keys fill the early requests.
- `ordering=none`: one request per lane, packed in file order, as many at once as the sender allows.

Requests are held to the stream's request cap, 500 entries, and one second of a shard's byte capacity
per shard (a request that carried more to one shard would only be throttled).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest

from shared.delivery.aggregation import aggregate
from shared.delivery.shards import ShardMap
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry

PER_KEY = "per-key"
NONE = "none"
ORDERINGS = (PER_KEY, NONE)
SHARD_BYTES_PER_SECOND = 1024 * 1024
SHARD_RECORDS_PER_SECOND = 1000

Request = list[Entry]
Lane = list[Request]


@dataclass(slots=True)
class BatchPlan:
    """Lanes that run side by side, then `tail`: requests that go out after every lane is done."""

    lanes: list[Lane]
    tail: Lane

    @property
    def requests(self) -> list[Request]:
        return [r for lane in self.lanes for r in lane] + self.tail


@dataclass(frozen=True, slots=True)
class Routing:
    ordering: str = PER_KEY
    aggregate: bool = False
    max_lanes: int = 4
    shard_bytes_per_request: int = SHARD_BYTES_PER_SECOND

    def __post_init__(self) -> None:
        if self.ordering not in ORDERINGS:
            raise ValueError(
                f"ordering must be one of {', '.join(ORDERINGS)}, not {self.ordering!r}"
            )
        if self.max_lanes < 1:
            raise ValueError("max_lanes must be at least 1")

    def lanes_for(self, shards: int) -> int:
        """How many requests may be in flight at once."""
        return min(self.max_lanes, shards) if self.ordering == PER_KEY else self.max_lanes


def batch_bounds(limits: KinesisLimits, routing: Routing, shards: int) -> tuple[int, int]:
    """How many entries and bytes a batch holds: one request per lane (a job checkpoints after each
    batch, so a crash re-sends only the requests in flight; on the shard simulator a batch of one
    request a lane paces as fast as one of four), little enough to hold two in memory. Aggregated,
    as many records as two requests a lane carry."""
    lanes = routing.lanes_for(shards)
    per_lane = 200 if routing.aggregate else 1
    return limits.max_entries * lanes * per_lane, limits.max_request_bytes * lanes * 2


def route(entries: Sequence[Entry], shard_map: ShardMap) -> None:
    """Set each entry's predicted shard (inlined: this runs once per record)."""
    if len(shard_map) == 1:
        for entry in entries:
            entry.shard = 0
        return
    starts = shard_map.starts
    md5, from_bytes = hashlib.md5, int.from_bytes
    for entry in entries:
        ehk = entry.explicit_hash_key
        key = (
            int(ehk)
            if ehk is not None
            else from_bytes(md5(entry.partition_key.encode("utf-8")).digest(), "big")
        )
        index = bisect_right(starts, key) - 1
        entry.shard = index if index > 0 else 0


def plan_batch(
    entries: Sequence[Entry], shard_map: ShardMap, limits: KinesisLimits, routing: Routing
) -> BatchPlan:
    """The requests that send `entries` (in file order) under `routing`."""
    if not entries:
        return BatchPlan([], [])
    route(entries, shard_map)
    units: list[Entry] = list(entries)
    if routing.aggregate:
        by_shard: dict[int, list[Entry]] = {}
        for entry in entries:
            by_shard.setdefault(entry.shard, []).append(entry)
        limit = limits.effective_record_bytes
        units = [a for group in by_shard.values() for a in aggregate(group, limit)]
        units.sort(key=lambda u: u.seq)
    packer = _RequestPacker(limits, routing.shard_bytes_per_request)
    if routing.ordering == NONE:
        return BatchPlan([[request] for request in packer.pack(units)], [])
    total_bytes = sum(u.size for u in units)
    needed = max(-(-len(units) // limits.max_entries), -(-total_bytes // limits.max_request_bytes))
    lanes = max(1, min(routing.lanes_for(len(shard_map)), needed))
    by_lane: list[list[Entry]] = [[] for _ in range(lanes)]
    for unit in units:
        by_lane[unit.shard % lanes].append(unit)
    planned = [_layered(group, packer) for group in by_lane if group]
    return _with_tail(planned, packer, limits)


def _with_tail(lanes: list[Lane], packer: _RequestPacker, limits: KinesisLimits) -> BatchPlan:
    """Each lane's last request, when not full, goes into requests shared by every lane's remainder,
    sent once all lanes are done (no shard is then in flight elsewhere, and each lane's keys are its
    shards' alone). So per-shard requests cost no more than packing all together: the full requests
    plus the remainders packed make the fewest the entry limit allows."""
    if len(lanes) < 2:
        return BatchPlan(lanes, [])
    half_bytes = limits.max_request_bytes // 2
    remainders: list[Request] = []
    for lane in lanes:
        last = lane[-1]
        if len(last) < limits.max_entries and sum(u.size for u in last) < half_bytes:
            remainders.append(lane.pop())
    # Dealt in turn, so each shared request draws on every shard's capacity, not one shard's after
    # another's (each lane's entries keep their order).
    dealt = [u for group in zip_longest(*remainders) for u in group if u is not None]
    tail = packer.pack(dealt) if dealt else []
    return BatchPlan([lane for lane in lanes if lane], tail)


def _layered(units: list[Entry], packer: _RequestPacker) -> Lane:
    """Requests in which no key appears twice, keys' records in file order across them."""
    if all(u.members is None for u in units) and len({u.partition_key for u in units}) == len(
        units
    ):
        return packer.pack(units)  # every key once (the default per-record keys): one layer
    last_layer: dict[str, int] = {}
    layers: list[list[Entry]] = []
    for unit in units:
        if unit.members is None:
            key = unit.partition_key
            layer = last_layer.get(key, -1) + 1
            last_layer[key] = layer
        else:
            keys = {m.partition_key for m in unit.members}
            layer = 1 + max(last_layer.get(k, -1) for k in keys)
            for k in keys:
                last_layer[k] = layer
        if layer == len(layers):
            layers.append([])
        layers[layer].append(unit)
    return [request for layer in layers for request in packer.pack(layer)]


class _RequestPacker:
    def __init__(self, limits: KinesisLimits, shard_bytes: int) -> None:
        self._max_bytes = limits.max_request_bytes
        self._max_entries = limits.max_entries
        self._shard_bytes = shard_bytes

    def pack(self, units: list[Entry]) -> list[Request]:
        """Greedy, in order: a request closes when the next entry would not fit."""
        requests: list[Request] = []
        current: Request = []
        size = 0
        per_shard: dict[int, int] = {}
        for unit in units:
            on_shard = per_shard.get(unit.shard, 0)
            if current and (
                len(current) == self._max_entries
                or size + unit.size > self._max_bytes
                or (on_shard and on_shard + unit.size > self._shard_bytes)
            ):
                requests.append(current)
                current, size, per_shard, on_shard = [], 0, {}, 0
            current.append(unit)
            size += unit.size
            per_shard[unit.shard] = on_shard + unit.size
        if current:
            requests.append(current)
        return requests
