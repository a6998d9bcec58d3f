"""Names the Lambdas share with the stack, the local stack and the tests (the one definition)."""

from __future__ import annotations

SERVICE = "s3-kinesis-loader"  # Powertools' service name, and the metrics' dimension
NAMESPACE = "S3KinesisLoader"  # the functions' CloudWatch metrics
INCOMING_PREFIX = "incoming/"
SPILL_PREFIX = "ledger-payloads/"
MAX_RECEIVE_COUNT = 5  # deliveries before a queue's message moves to its dead-letter queue
INGEST_BATCH_SIZE = (
    10  # messages per ingest invocation (the stack's default; the local stack's too)
)
# How long Lambda gathers ingest messages before it invokes (the deployed stack's default): a burst of
# small files fills batches of INGEST_BATCH_SIZE, taken together in one invocation and one set of
# requests, for at most this much more latency on a lone upload.
INGEST_BATCHING_WINDOW_S = 1

JOBS_BY_KEY_INDEX = "jobs_by_key_index"  # source_key ("<bucket>/<key>") + created_at
JOBS_BY_TIME_INDEX = (
    "jobs_by_time_index"  # kind (always "job") + created_at: every job, newest first
)
JOB_KIND = "job"
EVENT_SOURCE = "s3-kinesis-loader"  # job status changes on EventBridge
EVENT_DETAIL_TYPE = "Job Status Change"
RECORDS_STATUS_INDEX = "batch_status_index"
RECORDS_STATUS_ATTRIBUTE = "job_status"  # "<job id>#<status>": the status index's partition key

# Environment variables of the typed configuration (shared/config.py).
ENV_BUCKET = "LOADER_BUCKET"
ENV_STREAM = "LOADER_STREAM"
ENV_JOBS_TABLE = "LOADER_JOBS_TABLE"
ENV_RECORDS_TABLE = "LOADER_RECORDS_TABLE"
ENV_INGEST_QUEUE_URL = "LOADER_INGEST_QUEUE_URL"
ENV_RETRY_QUEUE_URL = "LOADER_RETRY_QUEUE_URL"
ENV_RECORD_TRACKING = "LOADER_RECORD_TRACKING"
ENV_MAX_REQUEST_KIB = "LOADER_MAX_REQUEST_KIB"
ENV_MAX_IN_FLIGHT = "LOADER_MAX_IN_FLIGHT"
ENV_MAX_ATTEMPTS = "LOADER_MAX_ATTEMPTS"
ENV_CHECKPOINT_REQUESTS = "LOADER_CHECKPOINT_EVERY_REQUESTS"
ENV_CHECKPOINT_SECONDS = "LOADER_CHECKPOINT_EVERY_SECONDS"
ENV_TIME_MARGIN_SECONDS = "LOADER_TIME_MARGIN_SECONDS"
ENV_LEASE_GRACE_SECONDS = "LOADER_LEASE_GRACE_SECONDS"
# The dead-letter queues whose messages a function settles (their jobs ended), comma-separated ARNs.
ENV_DEAD_LETTER_ARNS = "LOADER_DEAD_LETTER_ARNS"
ENV_MAX_HOPS = "LOADER_MAX_HOPS"
ENV_INLINE_PAYLOAD_BYTES = "LOADER_INLINE_PAYLOAD_BYTES"
ENV_RETRY_DELAY_SECONDS = "LOADER_RETRY_DELAY_SECONDS"
ENV_DEFAULT_FORMAT = "LOADER_DEFAULT_FORMAT"
ENV_DEFAULT_PARTITION_KEY_FIELD = "LOADER_DEFAULT_PARTITION_KEY_FIELD"
ENV_DEFAULT_ORDERING = "LOADER_DEFAULT_ORDERING"
ENV_DEFAULT_AGGREGATE = "LOADER_DEFAULT_AGGREGATE"
ENV_SMALL_FILE_BYTES = "LOADER_SMALL_FILE_BYTES"
ENV_FANOUT_MIN_BYTES = "LOADER_FANOUT_MIN_BYTES"
ENV_FANOUT_MAX_PARALLEL = "LOADER_FANOUT_MAX_PARALLEL"
ENV_SHARD_RECORDS_PER_SECOND = "LOADER_SHARD_RECORDS_PER_SECOND"
ENV_SHARD_BYTES_PER_SECOND = "LOADER_SHARD_BYTES_PER_SECOND"
ENV_MAX_RETRIES = "LOADER_MAX_RETRIES"
ENV_RETRY_MAX_DELAY_SECONDS = "LOADER_RETRY_MAX_DELAY_SECONDS"
ENV_TOKEN_KEY = "LOADER_TOKEN_KEY"
ENV_TOKEN_SECRET_ARN = (
    "LOADER_TOKEN_SECRET_ARN"  # the deployed key: a generated Secrets Manager secret
)
ENV_EVENT_BUS = "LOADER_EVENT_BUS"  # where job status changes are published (default: "default")
ENV_MAX_RECEIVE_COUNT = (
    "LOADER_MAX_RECEIVE_COUNT"  # the queues' redrive limit: a last delivery fails its job
)
