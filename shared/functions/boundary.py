"""The functions' last line: what a message's failure does to its job, by the failure's kind."""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.failures import Failure, classify
from shared.functions.observability import logger


def settle_failure(exc: BaseException, final: bool, fail_job: Callable[[Failure], None]) -> Failure:
    """Classify `exc`, which stopped a message's handling, and act on it.

    An infrastructure failure is raised again for the queue to redeliver the message. Any other
    failure, or one on the message's last delivery (`final`), fails the job through `fail_job`; the
    infrastructure one is then raised again, so the message goes on to the dead-letter queue for
    inspection. Otherwise the failure is returned: the message is done with.
    """
    failure = classify(exc)
    if failure.retriable and not final:
        logger.warning(
            "infrastructure error; the message will be redelivered",
            extra={"error_code": failure.code, "error": failure.message},
        )
        raise exc
    logger.error("the job cannot go on", exc_info=exc, extra={"error_code": failure.code})
    fail_job(failure)
    if failure.retriable:
        raise exc
    return failure
