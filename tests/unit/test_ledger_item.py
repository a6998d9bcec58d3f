"""The typed ledger item: what is stored, and what comes back from DynamoDB's representation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.aws.dynamo import from_item, to_item
from shared.domain.jobs import LedgerItem, RecordStatus
from shared.ledger.dynamodb import status_key
from shared.names import RECORDS_STATUS_ATTRIBUTE

text = st.text(min_size=1, max_size=20)
items = st.builds(
    LedgerItem,
    job_id=st.from_regex(r"[a-z2-7]{24}", fullmatch=True),
    seq=st.integers(0, 2**40),
    status=st.sampled_from(list(RecordStatus)),
    updated_at=text,
    line=st.integers(0, 2**40),
    offset=st.integers(0, 2**50),
    partition_key=st.none() | text,
    error_code=st.none() | text,
    error_message=st.none() | st.text(max_size=200),
    attempts=st.integers(0, 1000),
    retries=st.integers(0, 100),
    payload=st.none() | st.binary(min_size=1, max_size=300),
    payload_key=st.none() | text,
    payload_size=st.none() | st.integers(0, 2**20),
    payload_missing=st.booleans(),
    shard_id=st.none() | text,
    sequence_number=st.none() | st.from_regex(r"[0-9]{1,56}", fullmatch=True),
    recovered=st.booleans(),
    recovered_at=st.none() | text,
)


@given(items)
def test_an_item_comes_back_from_the_table_as_it_was_stored(item):
    stored = to_item(
        {**item.values(), RECORDS_STATUS_ATTRIBUTE: status_key(item.job_id, item.status)}
    )
    back = LedgerItem.from_values(from_item(stored))
    assert back == item
    assert isinstance(back.status, RecordStatus)


def test_only_set_fields_are_stored():
    item = LedgerItem("j" * 24, 3, RecordStatus.REJECTED, "t", line=4, error_code="MalformedJson")
    assert item.values() == {
        "job_id": "j" * 24, "seq": 3, "status": "rejected", "updated_at": "t", "line": 4, "offset": 0,
        "error_code": "MalformedJson", "attempts": 0, "retries": 0,
    }  # fmt: skip
    assert (
        not item.payload_kept and LedgerItem(**{**item.values(), "payload_key": "k"}).payload_kept
    )
