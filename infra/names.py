"""Names shared by the CDK stack, the Lambdas' configuration, the local stack and the tests."""

from __future__ import annotations

STACK_NAME = "S3KinesisLoader"
INCOMING_PREFIX = "incoming/"
SPILL_PREFIX = "ledger-payloads/"

# DynamoDB
JOBS_TABLE = "jobs"
JOBS_BY_KEY_INDEX = "jobs_by_key_index"
RECORDS_TABLE = "records"
RECORDS_STATUS_INDEX = "batch_status_index"
RECORDS_STATUS_ATTRIBUTE = "job_status"  # "<job id>#<status>": the GSI's partition key

# Environment variables the Lambdas read their typed configuration from.
ENV_BUCKET = "LOADER_BUCKET"
ENV_STREAM = "LOADER_STREAM"
ENV_JOBS_TABLE = "LOADER_JOBS_TABLE"
ENV_RECORDS_TABLE = "LOADER_RECORDS_TABLE"
