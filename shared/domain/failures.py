"""Every failure classified at one boundary: a record, a file, or the infrastructure.

- **record**: one record cannot be taken (`RecordError`): it is rejected with its line, reason and
  code, and reading goes on.
- **file**: the job cannot go on with this object (unreadable, unknown format, broken structure, a bad
  option, a stream that refuses the request, or an exception nobody expected): the job fails at once
  with the message and code. Repeating cannot help, so nothing is redelivered or sent again.
- **infrastructure**: throttles, timeouts, 5xx, dropped connections: worth repeating, so the message
  is redelivered and the job resumes from its checkpoint. On the message's last delivery the job
  fails with this error instead of staying unfinished.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from urllib3.exceptions import HTTPError as Urllib3Error

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


class Kind(StrEnum):
    RECORD = "record"
    FILE = "file"
    INFRASTRUCTURE = "infrastructure"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: Kind
    code: str
    message: str

    @property
    def retriable(self) -> bool:
        return self.kind is Kind.INFRASTRUCTURE

    @property
    def job_error(self) -> str:
        """What a job failed by this says: an infrastructure failure is one the service gave up on."""
        return f"gave up: {self.message}" if self.retriable else self.message


def dead_lettered(receives: object) -> Failure:
    """A message the queue gave up on: every delivery of it died (killed at the timeout, out of
    memory) or failed, the last one too, before its job ended."""
    return Failure(
        Kind.INFRASTRUCTURE,
        "DeadLettered",
        f"its message was received {receives or 'several'} times and never handled to the end "
        "(each invocation failed or was killed: a timeout, out of memory); it is kept in the "
        "dead-letter queue",
    )


# AWS error codes that say "try again" whatever the service.
RETRIABLE_AWS_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
    "RequestLimitExceeded", "TooManyRequestsException", "SlowDown", "KMSThrottlingException",
    "RequestThrottled", "RequestThrottledException", "LimitExceededException", "TransactionInProgressException",
    "InternalFailure", "InternalFailureException", "InternalServerError", "InternalError",
    "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
})  # fmt: skip

_FILE_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (UnknownFormatError, "UnknownFormat"),
    (CorruptInputError, "CorruptInput"),
    (InputFileError, "UnreadableInput"),
    (ConfigError, "InvalidOption"),
)


def classify(exc: BaseException) -> Failure:
    """What kind of failure `exc` is, with a stable code and a message for the ledger."""
    if isinstance(exc, RecordError):
        return Failure(Kind.RECORD, exc.code, exc.reason)
    for kind, code in _FILE_ERRORS:
        if isinstance(exc, kind):
            return Failure(Kind.FILE, code, str(exc))
    if isinstance(exc, StreamFatalError):
        return Failure(Kind.FILE, "StreamRefused", f"the stream refused the request: {exc}")
    if isinstance(exc, StreamRetriableError):
        return Failure(Kind.INFRASTRUCTURE, exc.code, str(exc))
    if isinstance(exc, LedgerError):
        cause = exc.__cause__
        inner = classify(cause) if isinstance(cause, ClientError) else None
        if inner is not None and not inner.retriable:
            return Failure(Kind.FILE, inner.code, str(exc))
        return Failure(Kind.INFRASTRUCTURE, inner.code if inner else "LedgerError", str(exc))
    if isinstance(exc, ClientError):
        return _client_error(exc)
    if isinstance(exc, NoCredentialsError):
        return Failure(Kind.INFRASTRUCTURE, "NoCredentials", str(exc))
    if isinstance(exc, (BotoCoreError, Urllib3Error, http.client.HTTPException)):
        return Failure(Kind.INFRASTRUCTURE, type(exc).__name__, str(exc))
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return Failure(Kind.INFRASTRUCTURE, type(exc).__name__, str(exc) or type(exc).__name__)
    detail = str(exc)[:500]
    return Failure(Kind.FILE, "InternalError", f"internal error: {type(exc).__name__}: {detail}")


def _client_error(exc: ClientError) -> Failure:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    if code in RETRIABLE_AWS_CODES or (isinstance(status, int) and status >= 500):
        return Failure(Kind.INFRASTRUCTURE, code, str(exc))
    return Failure(Kind.FILE, code, str(exc))
