"""Powertools Logger, Metrics and Tracer, shared by the Lambdas (structured logs carry the job id)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from shared.names import NAMESPACE, SERVICE

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
