"""The records that flow from a reader to the packer and the sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Record:
    """One record read from a file: the bytes to send and, where parsed, its value."""

    seq: int
    line: int
    offset: int
    data: bytes
    value: Any = None


@dataclass(slots=True)
class Rejection:
    """A record that will not be sent, with the reason. `raw` is None when it was too big to hold."""

    seq: int
    line: int
    offset: int
    reason: str
    raw: bytes | None = None
    code: str = "Malformed"


@dataclass(slots=True)
class Entry:
    """A record ready for PutRecords; `size` is data bytes + partition-key UTF-8 bytes.

    An aggregate (`shared/delivery/aggregation.py`) is an entry too: its `members` are the user records it
    carries (its `seq` is the first one's), routed by `explicit_hash_key`. `shard` is the index, in the
    sender's shard map, of the shard the entry is predicted to land on (-1 until routed).
    """

    seq: int
    line: int
    offset: int
    data: bytes
    partition_key: str
    size: int
    explicit_hash_key: str | None = None
    members: list[Entry] | None = None
    shard: int = -1


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where reading resumes: the decompressed byte offset of the next record, its seq and line.

    `state` carries what a format needs to resume (the CSV header, the JSON array's position).
    """

    offset: int = 0
    seq: int = 0
    line: int = 1
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    etag: str | None
    version_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fence:
    """A ledger write goes through only while the job's item still names `owner` in `attribute` (the
    lease it is written under): an invocation whose lease ran out and was taken over cannot leave
    items behind that the new owner, who cleared the ledger past its checkpoint, never counted."""

    attribute: str
    owner: str


@dataclass(frozen=True, slots=True)
class Transition:
    """A record moving from the status it was read in (guarded by the updated_at it was read with)."""

    seq: int
    from_status: str
    seen_updated_at: str
    values: dict[str, Any]  # must hold the new "status"
