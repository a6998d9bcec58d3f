"""The project's own exceptions. Adapters translate AWS errors into these; the API maps them to HTTP."""


class LoaderError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(LoaderError):
    """A setting or option is missing or malformed."""


class InputFileError(LoaderError):
    """The file as a whole cannot be read: its job fails with this message."""


class UnknownFormatError(InputFileError):
    """The format is neither given, recognisable from the name, nor sniffable from the content."""


class CorruptInputError(InputFileError):
    """A compressed stream is truncated or corrupt, or the file's structure is broken."""


class RecordError(LoaderError):
    """One record cannot be taken: it is rejected with this stable code and reason; reading goes on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


PAYLOAD_MISSING = "PayloadMissing"


class PayloadMissingError(RecordError):
    """A failed record's kept payload is gone: it cannot be resent."""


class StreamError(LoaderError):
    """A call to the stream failed as a whole."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StreamRetriableError(StreamError):
    """The call may succeed if repeated (throttled, 5xx, timeout). It may also have been written."""


class StreamFatalError(StreamError):
    """Repeating the call cannot help (missing stream, access or KMS denied, invalid request)."""


class MalformedMessageError(LoaderError):
    """A queue message is not one this function takes (the dead-letter queue keeps it)."""


class JobNotFoundError(LoaderError):
    """No job has this id."""


class JobBusyError(LoaderError):
    """Another invocation holds the job's lease: this message comes back later (that invocation may
    die with it, and its own message may be this very one, redelivered)."""


class JobFinishedError(LoaderError):
    """The job is past reading its input (finished, or retrying): nothing to ingest."""


class JobSupersededError(JobFinishedError):
    """The message is older than the job's chain (a later continuation has run): nothing to do."""


class LeaseLostError(LoaderError):
    """The lease was taken over (it expired): this invocation must stop writing."""


class LedgerError(LoaderError):
    """The ledger could not be written (after retries)."""
