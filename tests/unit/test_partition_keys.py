import json

import orjson
import pytest

from shared.delivery.partition_keys import PartitionKeyError, field_key
from shared.domain.models import Record
from shared.readers.jsonvalue import parse_json


def key_of(value, path):
    return field_key(path)(Record(0, 1, 0, orjson.dumps(value), value))


def key_from_text(text: bytes, path: str = "k") -> str:
    return field_key(path)(Record(0, 1, 0, text, parse_json(text)))


@pytest.mark.parametrize(
    "number",
    [b"12345678901234567890123", b"12345678901234567890124", b"1e400", b"1.50", b"-0", b"0",
     b"-0.0", b"1E+2", b"7", b"-9223372036854775809", b"18446744073709551616"],
)  # fmt: skip
def test_a_number_key_is_the_text_the_file_holds(number):
    assert key_from_text(b'{"k": ' + number + b', "x": [1.0]}') == number.decode()


def test_integers_past_64_bits_stay_distinct_keys():
    a = key_from_text(b'{"k": 12345678901234567890123}')
    b = key_from_text(b'{"k": 12345678901234567890124}')
    assert a != b and json.loads(a) + 1 == json.loads(b)


def test_a_lone_surrogate_key_is_rejected_not_sent():
    with pytest.raises(PartitionKeyError, match="lone surrogate"):
        key_from_text(b'{"k": "\\ud800"}')


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
