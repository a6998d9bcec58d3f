"""The lean PutRecords codec puts on the wire what botocore would, and reads back what botocore would."""

import json

import boto3
import pytest
from botocore import parsers, serialize
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from shared.stream import put_records_codec

RESPONSE = {
    "FailedRecordCount": 1,
    "EncryptionType": "KMS",
    "Records": [
        {"SequenceNumber": "49651234567890123456789012345678901234567890", "ShardId": "shardId-000000000001"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"},
    ],
}  # fmt: skip


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


class Wire:
    """A Kinesis client whose requests are caught before they leave, answered with a canned body."""

    def __init__(self, monkeypatch, codec: bool, status: int = 200, answer: dict | None = None,
                 statuses: list[int] | None = None):  # fmt: skip
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        retries = {"mode": "standard", "max_attempts": 3}
        self.client = boto3.client(
            "kinesis", region_name="us-east-1",
            config=Config(parameter_validation=False, retries=retries),
        )  # fmt: skip
        if codec:
            put_records_codec.install(self.client)
        self.bodies: list[bytes] = []
        self._answer = json.dumps(answer if answer is not None else RESPONSE).encode()
        self._statuses = list(statuses or [status])
        self.client.meta.events.register("before-send.kinesis.PutRecords", self._send)

    def _send(self, request, **_):
        self.bodies.append(request.body)
        status = self._statuses.pop(0) if len(self._statuses) > 1 else self._statuses[0]
        body = b'{"__type": "InternalFailure"}' if status == 500 else self._answer
        return AWSResponse(request.url, status, {}, _Raw(body))


def botocore_body(params: dict) -> dict:
    model = boto3.client("kinesis", region_name="us-east-1").meta.service_model
    request = serialize.create_serializer("json").serialize_to_request(
        params, model.operation_model("PutRecords")
    )
    return json.loads(request["body"])


PARAMS = {
    "StreamName": "events",
    "Records": [
        {"Data": b"\x00\xffbinary", "PartitionKey": "k1"},
        {"Data": "text é", "PartitionKey": "ключ", "ExplicitHashKey": "12345"},
        {"Data": b"", "PartitionKey": "k3"},
    ],
}


def test_the_request_body_is_the_one_botocore_would_send(monkeypatch):
    wire = Wire(monkeypatch, codec=True)
    wire.client.put_records(**PARAMS)
    assert json.loads(wire.bodies[0]) == botocore_body(PARAMS)


def test_the_parsed_response_is_the_one_botocore_would_give(monkeypatch):
    ours = Wire(monkeypatch, codec=True).client.put_records(**PARAMS)
    theirs = Wire(monkeypatch, codec=False).client.put_records(**PARAMS)
    for parsed in (ours, theirs):
        parsed.pop("ResponseMetadata")
    assert ours == theirs == RESPONSE


def test_botocore_s_own_retry_resends_the_same_encoded_body(monkeypatch):
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda s: None)
    wire = Wire(monkeypatch, codec=True, statuses=[500, 200])
    parsed = wire.client.put_records(**PARAMS)
    assert len(wire.bodies) == 2 and wire.bodies[0] == wire.bodies[1]
    assert json.loads(wire.bodies[1]) == botocore_body(PARAMS)
    assert parsed["Records"] == RESPONSE["Records"]


def test_a_stream_arn_goes_on_the_wire_too(monkeypatch):
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
    wire = Wire(monkeypatch, codec=True)
    wire.client.put_records(StreamARN=arn, Records=PARAMS["Records"][:1])
    assert json.loads(wire.bodies[0])["StreamARN"] == arn


def test_an_entry_it_does_not_know_is_left_to_botocore(monkeypatch):
    wire = Wire(monkeypatch, codec=True)
    params = {"StreamName": "s", "Records": [{"Data": 42, "PartitionKey": "k"}]}
    with pytest.raises(TypeError):  # botocore's own complaint about a blob that is not one
        wire.client.put_records(**params)


def test_hooks_before_it_still_see_and_change_the_records(monkeypatch):
    # GIVEN a hook that drops the second entry, as the fault injector does
    wire = Wire(monkeypatch, codec=True)

    def drop_second(params, **_):
        params["Records"] = [params["Records"][0], *params["Records"][2:]]

    wire.client.meta.events.register("provide-client-params.kinesis.PutRecords", drop_second)
    wire.client.put_records(**PARAMS)
    sent = json.loads(wire.bodies[0])["Records"]
    assert [r["PartitionKey"] for r in sent] == ["k1", "k3"]


def test_an_error_response_is_still_raised_by_botocore(monkeypatch):
    error = {"__type": "ResourceNotFoundException", "message": "Stream events not found"}
    wire = Wire(monkeypatch, codec=True, status=400, answer=error)
    with pytest.raises(wire.client.exceptions.ResourceNotFoundException):
        wire.client.put_records(**PARAMS)


def entries_walked(monkeypatch, cls, method: str, value_at: int) -> list[int]:
    """Spy on one of botocore's list walks: the lengths of the lists it is handed, call by call."""
    counted: list[int] = []
    walk = getattr(cls, method)

    def counting(self, *args):
        counted.append(len(args[value_at]))
        return walk(self, *args)

    monkeypatch.setattr(cls, method, counting)
    return counted


def serialized(monkeypatch) -> list[int]:
    return entries_walked(monkeypatch, serialize.JSONSerializer, "_serialize_type_list", 1)


@pytest.mark.parametrize(("codec", "walked"), [(True, 0), (False, 3)])
def test_with_the_codec_botocore_walks_no_entry(monkeypatch, codec, walked):
    counted = serialized(monkeypatch)
    Wire(monkeypatch, codec=codec).client.put_records(**PARAMS)
    assert sum(counted) == walked


@pytest.mark.parametrize(("codec", "walked"), [(True, 0), (False, 2)])
def test_with_the_codec_botocore_parses_no_result_entry(monkeypatch, codec, walked):
    counted = entries_walked(monkeypatch, parsers.BaseJSONParser, "_handle_list", 1)
    Wire(monkeypatch, codec=codec).client.put_records(**PARAMS)
    assert sum(counted) == walked


def test_a_client_whose_model_speaks_another_protocol_is_left_alone(monkeypatch):
    wire = Wire(monkeypatch, codec=False)
    monkeypatch.setitem(wire.client.meta.service_model.metadata, "jsonVersion", "1.0")
    put_records_codec.install(wire.client)
    counted = serialized(monkeypatch)
    wire.client.put_records(**PARAMS)
    assert sum(counted) == 3
