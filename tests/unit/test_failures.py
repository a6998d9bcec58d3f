"""One boundary classifies every failure: a record, a file, or the infrastructure."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from urllib3.exceptions import ProtocolError

from shared.domain.errors import (
    ConfigError,
    CorruptInputError,
    InputFileError,
    LedgerError,
    RecordError,
    StreamFatalError,
    StreamRetriableError,
    UnknownFormatError,
)
from shared.domain.failures import Kind, classify


def client_error(code: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Op")  # type: ignore[arg-type]


def ledger_error(cause: ClientError) -> LedgerError:
    try:
        raise LedgerError("writing the ledger failed") from cause
    except LedgerError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (RecordError("MalformedJson", "bad"), Kind.RECORD, "MalformedJson"),
        (UnknownFormatError("?"), Kind.FILE, "UnknownFormat"),
        (CorruptInputError("truncated"), Kind.FILE, "CorruptInput"),
        (InputFileError("gone"), Kind.FILE, "UnreadableInput"),
        (ConfigError("bad option"), Kind.FILE, "InvalidOption"),
        (StreamFatalError("ResourceNotFoundException", "no stream"), Kind.FILE, "StreamRefused"),
        (StreamRetriableError("ThrottlingException", "slow"), Kind.INFRASTRUCTURE, "ThrottlingException"),
        (client_error("ProvisionedThroughputExceededException"), Kind.INFRASTRUCTURE, "ProvisionedThroughputExceededException"),
        (client_error("SlowDown", 503), Kind.INFRASTRUCTURE, "SlowDown"),
        (client_error("Anything", 500), Kind.INFRASTRUCTURE, "Anything"),
        (client_error("AccessDenied", 403), Kind.FILE, "AccessDenied"),
        (ledger_error(client_error("ThrottlingException")), Kind.INFRASTRUCTURE, "ThrottlingException"),
        (ledger_error(client_error("ValidationException")), Kind.FILE, "ValidationException"),
        (EndpointConnectionError(endpoint_url="https://x"), Kind.INFRASTRUCTURE, "EndpointConnectionError"),
        (ReadTimeoutError(endpoint_url="https://x"), Kind.INFRASTRUCTURE, "ReadTimeoutError"),
        (ProtocolError("reset"), Kind.INFRASTRUCTURE, "ProtocolError"),
        (ConnectionResetError("reset"), Kind.INFRASTRUCTURE, "ConnectionResetError"),
        (TimeoutError(), Kind.INFRASTRUCTURE, "TimeoutError"),
        (RecursionError("too deep"), Kind.FILE, "InternalError"),
        (KeyError("x"), Kind.FILE, "InternalError"),
        (MemoryError(), Kind.FILE, "InternalError"),
    ],
)  # fmt: skip
def test_each_failure_has_one_kind_and_a_stable_code(exc, kind, code):
    failure = classify(exc)
    assert (failure.kind, failure.code) == (kind, code) and failure.message is not None
    assert failure.retriable is (kind is Kind.INFRASTRUCTURE)


def test_an_unexpected_error_says_what_it_was():
    assert classify(RecursionError("maximum depth")).message == (
        "internal error: RecursionError: maximum depth"
    )
