"""Retry Lambda: retry-queue messages -> a job's failed records resent from the ledger."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.functions.observability import logger, metrics, tracer
from shared.retry.service import RetryService
from shared.retry.wiring import retry_service


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: RetryService | None = None
) -> PartialItemFailureResponse:
    """SQS batch -> one result per message. `service`: an injected one (tests), else the process's."""
    return (service or retry_service()).handle_batch(event, context)
