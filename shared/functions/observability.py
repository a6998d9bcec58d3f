"""Powertools Logger, Metrics and Tracer, shared by the Lambdas (structured logs carry the job id)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from shared.names import NAMESPACE, SERVICE

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def log_job(job_id: str | None) -> None:
    """Name the job in every log line of this thread from now on (None: no job). Kept per thread, so
    invocations that share a process (the local stack runs several at once) never name another's job;
    a Lambda invocation is one thread, so this is the invocation's."""
    if job_id is None:
        logger.thread_safe_remove_keys(["job_id"])
    else:
        logger.thread_safe_append_keys(job_id=job_id)
