"""Packing: limits as Kinesis counts bytes, order kept, nothing lost, the fewest requests."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.delivery.packing import pack, to_entries
from shared.delivery.partition_keys import field_key, record_id_key
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Record, Rejection


def entry(seq: int, size: int) -> Entry:
    return Entry(seq, seq + 1, 0, b"x" * (size - 1), "k", size)


def fewest_requests(sizes: list[int], limits: KinesisLimits) -> int:
    """Dynamic programme over order-keeping packings: the true optimum to compare greedy with."""
    best = [0] + [10**9] * len(sizes)
    for end in range(1, len(sizes) + 1):
        total = 0
        for start in range(end - 1, -1, -1):
            total += sizes[start]
            if total > limits.max_request_bytes or end - start > limits.max_entries:
                break
            best[end] = min(best[end], best[start] + 1)
    return best[-1]


limits_st = st.builds(
    KinesisLimits,
    max_record_bytes=st.integers(2, 60),
    max_request_bytes=st.integers(60, 200),
    max_entries=st.integers(1, 8),
)


@settings(max_examples=300)
@given(limits_st, st.lists(st.integers(2, 60), max_size=60))
def test_requests_respect_limits_keep_order_and_are_fewest(limits, sizes):
    entries = [entry(i, s) for i, s in enumerate(sizes)]
    requests = list(pack(entries, limits))
    for request in requests:
        assert 1 <= len(request) <= limits.max_entries
        assert sum(e.size for e in request) <= limits.max_request_bytes
    assert [e.seq for r in requests for e in r] == list(range(len(sizes)))
    assert len(requests) == fewest_requests(sizes, limits)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.text(max_size=30), st.text(min_size=0, max_size=12)), max_size=40),
    st.integers(8, 64),
)
def test_every_record_is_in_one_request_or_rejected_with_sizes_in_utf8_bytes(rows, cap):
    # GIVEN records whose data and keys hold multibyte characters
    limits = KinesisLimits(max_record_bytes=cap, max_request_bytes=max(cap, 100), max_entries=5)
    records = [Record(i, i + 1, 0, d.encode(), {"k": k}) for i, (d, k) in enumerate(rows)]
    # WHEN keyed and packed
    out = list(to_entries(records, field_key("k"), limits))
    accepted = [e for e in out if isinstance(e, Entry)]
    rejected = [e for e in out if isinstance(e, Rejection)]
    requests = list(pack(accepted, limits))
    # THEN sizes are data + key bytes, nothing is over a limit, and every seq is accounted for once
    for e in accepted:
        assert e.size == len(e.data) + len(e.partition_key.encode()) <= cap
    for r in requests:
        assert (
            sum(len(e.data) + len(e.partition_key.encode()) for e in r) <= limits.max_request_bytes
        )
    seqs = sorted([e.seq for r in requests for e in r] + [r.seq for r in rejected])
    assert seqs == list(range(len(rows)))
    for r in rejected:
        key, data = rows[r.seq][1], rows[r.seq][0].encode()
        assert (not key and r.code == "PartitionKey") or len(data) + len(key.encode()) > cap


def test_request_exactly_at_the_byte_cap_is_one_request():
    limits = KinesisLimits(max_record_bytes=50, max_request_bytes=100, max_entries=10)
    assert [len(r) for r in pack([entry(0, 50), entry(1, 50), entry(2, 1)], limits)] == [2, 1]


def test_five_hundred_and_one_tiny_records_make_two_requests():
    assert [len(r) for r in pack([entry(i, 2) for i in range(501)], KinesisLimits())] == [500, 1]


def test_record_exactly_at_the_cap_is_sent_one_byte_more_is_rejected_not_truncated():
    limits = KinesisLimits(max_record_bytes=10, max_request_bytes=100)
    records = [Record(0, 1, 0, b"12345678", {"k": "é"}), Record(1, 2, 0, b"123456789", {"k": "é"})]
    at_cap, over = to_entries(records, field_key("k"), limits)
    assert isinstance(at_cap, Entry) and at_cap.size == 10
    assert isinstance(over, Rejection) and over.code == "Oversized" and over.raw == b"123456789"
    assert (
        over.reason
        == "record is 11 bytes (data 9 + partition key 2), over the 10-byte record limit"
    )


def test_key_bytes_push_a_record_over_the_cap():
    limits = KinesisLimits(max_record_bytes=10, max_request_bytes=100)
    [out] = to_entries([Record(0, 1, 0, b"1234567", {"k": "éé"})], field_key("k"), limits)
    assert isinstance(out, Rejection) and "11 bytes (data 7 + partition key 4)" in out.reason


def test_default_key_is_job_id_and_seq():
    [out] = to_entries([Record(7, 8, 0, b"x")], record_id_key("abc"), KinesisLimits())
    assert isinstance(out, Entry) and out.partition_key == "abc:7" and out.size == 1 + 5
