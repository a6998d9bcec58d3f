"""KPL-compatible aggregation: many user records of one shard in one Kinesis record, sized exactly.

The format (the KPL's `aggregation-format.md`; `aws-kinesis-agg` reads and writes it):

    F3 89 9A C2 | protobuf AggregatedRecord | MD5 of that protobuf (16 bytes)

    message AggregatedRecord {
      repeated string partition_key_table     = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records                 = 3;
    }
    message Record {
      required uint64 partition_key_index     = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes  data                    = 3;
      repeated Tag    tags                    = 4;
    }

Each user record keeps its own partition key (in the table); the aggregate is routed by an explicit hash
key to the shard all its user records hash into, so a consumer that de-aggregates finds each record on
the shard its own key maps to. The encoder is written here (no protobuf runtime in the Lambda) and
counts every byte as it goes, so an aggregate is closed exactly when the next record would take it over
the stream's record limit (data plus the aggregate's partition key, as Kinesis counts it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shared.delivery.shards import hash_key
from shared.domain.models import Entry

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_BYTES = 16
FRAMING_BYTES = len(MAGIC) + DIGEST_BYTES

_KEY_TAG = b"\x0a"  # field 1, length-delimited
_HASH_KEY_TAG = b"\x12"  # field 2, length-delimited
_RECORD_TAG = b"\x1a"  # field 3, length-delimited
_INDEX_TAG = b"\x08"  # Record field 1, varint
_DATA_TAG = b"\x1a"  # Record field 3, length-delimited


def varint_size(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [varint(n) for n in range(1 << 14)]  # one and two-byte varints, made once


def _v(n: int) -> bytes:
    return _SMALL[n] if n < 16384 else varint(n)


def _record_bytes(index: int, data_len: int) -> int:
    inner = 1 + varint_size(index) + 1 + varint_size(data_len) + data_len
    return 1 + varint_size(inner) + inner


class Aggregator:
    """User records of one shard gathered into one aggregated record, its size known at every step."""

    __slots__ = ("_body", "_key_parts", "_keys", "_outer_key_bytes", "_parts", "limit", "members")

    def __init__(self, limit: int) -> None:
        self.limit = limit  # the stream's record limit: data plus partition key bytes
        self.members: list[Entry] = []
        self._keys: dict[str, int] = {}
        self._key_parts: list[bytes] = []
        self._parts: list[bytes] = []
        self._body = 0  # protobuf bytes so far
        self._outer_key_bytes = 0

    def size_with(self, entry: Entry) -> int:
        """The aggregate's size as Kinesis counts it, were `entry` added."""
        key_bytes = entry.size - len(entry.data)
        index = self._keys.get(entry.partition_key)
        body = self._body + _record_bytes(
            len(self._keys) if index is None else index, len(entry.data)
        )
        if index is None:
            body += 1 + varint_size(key_bytes) + key_bytes
        outer = self._outer_key_bytes if self.members else key_bytes
        return FRAMING_BYTES + body + outer

    @property
    def size(self) -> int:
        return FRAMING_BYTES + self._body + self._outer_key_bytes

    def add(self, entry: Entry) -> bool:
        """Add `entry` unless it would take the aggregate over the limit (a first entry always goes in)."""
        data = entry.data
        length = len(data)
        key = entry.partition_key
        index = self._keys.get(key)
        key_part = b""
        if index is None:
            index = len(self._keys)
            encoded = key.encode("utf-8")
            key_part = _KEY_TAG + _v(len(encoded)) + encoded
        inner = _INDEX_TAG + _v(index) + _DATA_TAG + _v(length)
        head = _RECORD_TAG + _v(len(inner) + length) + inner
        body = self._body + len(key_part) + len(head) + length
        outer = self._outer_key_bytes if self.members else entry.size - length
        if self.members and FRAMING_BYTES + body + outer > self.limit:
            return False
        if key_part:
            self._keys[key] = index
            self._key_parts.append(key_part)
        self._parts.append(head)
        self._parts.append(data)
        self._outer_key_bytes = outer
        self.members.append(entry)
        self._body = body
        return True

    def to_entry(self) -> Entry:
        """The Kinesis entry: a lone record goes as itself (no framing to pay for, nothing to unpack)."""
        if len(self.members) == 1:
            return self.members[0]
        # Tables first, then records, as the KPL writes them; a protobuf reader takes any order.
        body = b"".join(self._key_parts) + b"".join(self._parts)
        data = MAGIC + body + hashlib.md5(body).digest()
        first = self.members[0]
        assert len(data) + self._outer_key_bytes == self.size
        return Entry(
            first.seq, first.line, first.offset, data, first.partition_key, self.size,
            explicit_hash_key=str(hash_key(first.partition_key)), members=self.members,
            shard=first.shard,
        )  # fmt: skip


def aggregate(entries: Iterable[Entry], limit: int) -> Iterator[Entry]:
    """One shard's entries, in order, as aggregates no larger than `limit` (and lone records)."""
    current = Aggregator(limit)
    for entry in entries:
        if not current.add(entry):
            yield current.to_entry()
            current = Aggregator(limit)
            current.add(entry)
        if len(current.members) == 1 and current.size > limit:
            # Too big to frame: the record goes alone, as itself (it fits the limit unframed).
            yield entry
            current = Aggregator(limit)
    if current.members:
        yield current.to_entry()


# -- reading ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserRecord:
    partition_key: str
    explicit_hash_key: str | None
    data: bytes


class _Reader:
    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.buf, self.pos, self.end = buf, pos, len(buf) if end is None else end

    def varint(self) -> int:
        shift = result = 0
        while True:
            if self.pos >= self.end or shift > 63:
                raise ValueError("truncated or overlong varint")
            b = self.buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def field(self) -> tuple[int, int, bytes | int]:
        tag = self.varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            return number, wire, self.varint()
        if wire == 2:
            length = self.varint()
            if self.pos + length > self.end:
                raise ValueError("truncated field")
            value = bytes(self.buf[self.pos : self.pos + length])
            self.pos += length
            return number, wire, value
        skip = {1: 8, 5: 4}.get(wire)
        if skip is None or self.pos + skip > self.end:
            raise ValueError(f"unsupported wire type {wire}")
        self.pos += skip
        return number, wire, 0


def is_aggregated(data: bytes) -> bool:
    return (
        len(data) > FRAMING_BYTES
        and data[:4] == MAGIC
        and hashlib.md5(data[4:-DIGEST_BYTES]).digest() == data[-DIGEST_BYTES:]
    )


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records of a KPL aggregated record, or None if `data` is not one."""
    if not is_aggregated(data):
        return None
    keys: list[str] = []
    hash_keys: list[str] = []
    raw: list[bytes] = []
    try:
        reader = _Reader(data, 4, len(data) - DIGEST_BYTES)
        while reader.pos < reader.end:
            number, wire, value = reader.field()
            if wire != 2:
                continue
            assert isinstance(value, bytes)
            if number == 1:
                keys.append(value.decode("utf-8"))
            elif number == 2:
                hash_keys.append(value.decode("utf-8"))
            elif number == 3:
                raw.append(value)
        out = []
        for message in raw:
            r = _Reader(message)
            key_index, hash_index, payload = None, None, b""
            while r.pos < r.end:
                number, _, value = r.field()
                if number == 1 and isinstance(value, int):
                    key_index = value
                elif number == 2 and isinstance(value, int):
                    hash_index = value
                elif number == 3 and isinstance(value, bytes):
                    payload = value
            if key_index is None:
                raise ValueError("a record without a partition key index")
            out.append(
                UserRecord(
                    keys[key_index],
                    hash_keys[hash_index] if hash_index is not None else None,
                    payload,
                )
            )
        return out
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
