"""A lean wire codec for PutRecords, installed on a boto3 Kinesis client through botocore's event hooks.

botocore serializes and parses every PutRecords entry by walking the service model: about 6 µs per
entry for the two (measured here), more CPU than reading, parsing, keying and packing a 200-byte record.
At 512 MB a Lambda function has under a third of a vCPU, so that walk bounds how fast one invocation can
feed a stream. PutRecords is plain JSON (`awsJson1_1`): entries with a base64 `Data`, a `PartitionKey`
and an optional `ExplicitHashKey`; results with `SequenceNumber`/`ShardId` or `ErrorCode`/`ErrorMessage`.

Everything else stays botocore's: endpoint resolution, signing, retries, errors, and every other hook,
which still sees the request's `Records` (the fault injector, counters) and the parsed response.

- `before-parameter-build` (registered last, so after every `provide-client-params` hook): the entries
  are encoded here into the request body, kept in the call's context, and the `Records` handed to the
  serializer are emptied, so the model walk has nothing to do. So it goes on a client made with
  `parameter_validation=False`, as the loader's own (`clients.new_client("kinesis")`): validation would
  walk every entry anyway (the packer already holds requests to Kinesis's limits), and an empty
  `Records` does not pass it.
- `before-call` (registered first): the encoded body replaces the serializer's, before signing.
- `before-parse`: a successful response is decoded here and botocore's parser is handed `{}`.

Anything unusual (a protocol other than JSON 1.1, a member this codec does not know) is left to botocore.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

_OPERATION = "kinesis.PutRecords"
_BODY = "loader_put_records_body"
_TOP_LEVEL = frozenset({"Records", "StreamName", "StreamARN", "StreamId"})
_ENTRY = frozenset({"Data", "PartitionKey", "ExplicitHashKey"})


def install(client: Any) -> None:
    """Install the codec on a client that does not validate parameters (idempotent; no effect on a
    client whose model speaks another protocol)."""
    model = client.meta.service_model
    # botocore before 1.36 has no `resolved_protocol`; its Kinesis model names one protocol.
    protocol = getattr(model, "resolved_protocol", None) or model.metadata.get("protocol")
    if protocol != "json" or model.metadata.get("jsonVersion") != "1.1":
        return
    events = client.meta.events
    events.register_last(
        f"before-parameter-build.{_OPERATION}", encode_request, unique_id="loader-codec-encode"
    )
    events.register_first(
        f"before-call.{_OPERATION}", use_encoded_body, unique_id="loader-codec-body"
    )
    events.register_first(
        f"before-parse.{_OPERATION}", decode_response, unique_id="loader-codec-decode"
    )


def encode_request(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    records = params.get("Records")
    if not records or not _TOP_LEVEL.issuperset(params):
        return
    try:
        entries = [_entry(r) for r in records]
    except (KeyError, TypeError, ValueError):
        return  # not an entry this codec knows: botocore serializes (and reports) it
    body = {k: v for k, v in params.items() if k != "Records" and v is not None}
    body["Records"] = entries
    context[_BODY] = orjson.dumps(body)
    params["Records"] = []


def _entry(record: dict[str, Any]) -> dict[str, str]:
    if not _ENTRY.issuperset(record):
        raise KeyError(record.keys() - _ENTRY)
    data = record["Data"]
    if isinstance(data, str):
        data = data.encode("utf-8")
    entry = {
        "Data": base64.b64encode(data).decode("ascii"),
        "PartitionKey": _text(record["PartitionKey"]),
    }
    if record.get("ExplicitHashKey") is not None:
        entry["ExplicitHashKey"] = _text(record["ExplicitHashKey"])
    return entry


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value


def use_encoded_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    body = context.pop(_BODY, None)
    if body is not None:
        params["body"] = body


def decode_response(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    if response_dict.get("status_code") != 200:
        return  # errors are botocore's to parse and raise
    body = response_dict.get("body")
    if not body:
        return
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    if not isinstance(decoded, dict) or not isinstance(decoded.get("Records"), list):
        return
    customized_response_dict.update(decoded)
    response_dict["body"] = b"{}"
