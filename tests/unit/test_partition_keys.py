import pytest

from shared.models import Record
from shared.partition_keys import PartitionKeyError, field_key


def key_of(value, path):
    return field_key(path)(Record(0, 1, 0, b"", value))


@pytest.mark.parametrize(
    ("value", "path", "key"),
    [
        ({"a": {"b": "x"}}, "a.b", "x"),
        ({"a.b": "lit"}, "a.b", "lit"),
        ({"n": 12}, "n", "12"),
        ({"f": 1.5}, "f", "1.5"),
        ({"t": True}, "t", "true"),
        ({"l": [{"id": "z"}]}, "l.0.id", "z"),
    ],
)
def test_key_found_at_a_dotted_path(value, path, key):
    assert key_of(value, path) == key


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({}, "missing"),
        ({"k": None}, "missing"),
        ({"k": ""}, "empty"),
        ({"k": {"x": 1}}, "not a scalar"),
        ({"k": "é" * 257}, "257 characters"),
        ([1, 2], "missing"),
    ],
)
def test_unusable_keys_give_a_reason(value, reason):
    with pytest.raises(PartitionKeyError, match=reason):
        key_of(value, "k")


def test_256_multibyte_characters_are_allowed():
    assert key_of({"k": "é" * 256}, "k") == "é" * 256
