"""Where Kinesis puts a record: the MD5 of its partition key (or its explicit hash key) as a 128-bit
integer, and the open shard whose hash-key range holds it.

The map comes from `ListShards`. It goes stale when the stream reshards (an on-demand stream splits and
merges shards by itself); the sender notices from the shard ids in PutRecords results and asks for a
fresh map (see `Sender`).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HASH_KEY_SPACE = 1 << 128
MAX_HASH_KEY = HASH_KEY_SPACE - 1


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis derives from a partition key."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


@dataclass(frozen=True, slots=True)
class ShardRange:
    shard_id: str
    start: int  # inclusive
    end: int  # inclusive

    def holds(self, key: int) -> bool:
        return self.start <= key <= self.end


class ShardMap:
    """The open shards of a stream, ordered by hash-key range."""

    def __init__(self, shards: Iterable[ShardRange]) -> None:
        self.shards: tuple[ShardRange, ...] = tuple(sorted(shards, key=lambda s: s.start))
        if not self.shards:
            raise ValueError("a stream has at least one open shard")
        self.starts = [s.start for s in self.shards]

    def __len__(self) -> int:
        return len(self.shards)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShardMap) and self.shards == other.shards

    def __hash__(self) -> int:
        return hash(self.shards)

    def index_of(self, key: int) -> int:
        """The shard holding hash key `key` (a gap, which an open-shard listing should not have, goes to
        the shard below it)."""
        return max(0, bisect_right(self.starts, key) - 1)

    def index_for(self, partition_key: str, explicit_hash_key: str | None = None) -> int:
        key = int(explicit_hash_key) if explicit_hash_key is not None else hash_key(partition_key)
        return self.index_of(key)

    @classmethod
    def even(cls, count: int) -> ShardMap:
        """`count` shards splitting the hash-key space evenly, as CreateStream makes them."""
        if count < 1:
            raise ValueError("a stream has at least one shard")
        step = HASH_KEY_SPACE // count
        return cls(
            ShardRange(
                f"shardId-{i:012d}",
                i * step,
                MAX_HASH_KEY if i == count - 1 else (i + 1) * step - 1,
            )
            for i in range(count)
        )

    @classmethod
    def from_list_shards(cls, shards: Sequence[Mapping[str, Any]]) -> ShardMap:
        """The open shards (no ending sequence number) of a ListShards listing."""
        open_shards = [
            ShardRange(
                s["ShardId"],
                int(s["HashKeyRange"]["StartingHashKey"]),
                int(s["HashKeyRange"]["EndingHashKey"]),
            )
            for s in shards
            if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})
        ]
        return cls(open_shards)
