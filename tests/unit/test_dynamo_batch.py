"""Batch writes finish their UnprocessedItems (a fake client: this is an error path)."""

import pytest

from shared.aws.dynamo import batch_write
from shared.domain.errors import LedgerError


class FlakyClient:
    def __init__(self, unprocessed_rounds: int):
        self.rounds = unprocessed_rounds
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems):
        [(table, requests)] = RequestItems.items()
        self.calls.append(len(requests))
        if self.rounds > 0:
            self.rounds -= 1
            return {"UnprocessedItems": {table: requests[: max(1, len(requests) // 2)]}}
        return {"UnprocessedItems": {}}


def puts(n):
    return [{"PutRequest": {"Item": {"k": {"N": str(i)}}}} for i in range(n)]


def test_unprocessed_items_are_resent_until_done():
    client = FlakyClient(unprocessed_rounds=2)
    assert batch_write(client, "t", puts(30), sleep=lambda s: None) == 30
    assert client.calls == [25, 12, 6, 5]


def test_items_that_never_go_through_raise():
    with pytest.raises(LedgerError, match="unprocessed"):
        batch_write(
            FlakyClient(unprocessed_rounds=100), "t", puts(4), max_rounds=3, sleep=lambda s: None
        )
