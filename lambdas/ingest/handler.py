"""Ingest Lambda: SQS messages (S3 events, continuations, ranges) -> jobs streamed into Kinesis."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.functions.observability import logger, metrics, tracer
from shared.ingest.service import IngestService
from shared.ingest.wiring import ingest_service


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: IngestService | None = None
) -> PartialItemFailureResponse:
    """SQS batch -> one result per message (the plan: `shared/ingest/batch.py`). `service`: an
    injected one (tests), else the process's."""
    return (service or ingest_service()).handle_batch(event, context)
