"""The domain package the Lambdas share, in layers; each imports only the layers above it in this list.

- `domain/`: the vocabulary (records, jobs, ledger items, statuses, limits, exceptions, failures).
- `readers/`: files to records, in bounded memory, with exact lines and offsets.
- `delivery/`: records to PutRecords requests (keys, packing, routing, aggregation, pacing, sending).
- The roles, each its port (`port.py`: what the services need, as protocols) beside its adapters
  (boto3, the only modules that import the AWS SDK): `jobs/` (the jobs table: jobs, checkpoints,
  ranges, leases), `ledger/` (the records table, and the moves of a record sent again),
  `objects/` (S3), `stream/` (Kinesis, its PutRecords codec, the sender a job asks for), `queues/`
  (SQS), `events/` (EventBridge); `aws/` holds what the adapters share (clients, item encoding).
- `config.py`, `names.py`: the functions' settings and the names shared with the stack (every layer
  below the services reads them; they belong to no one role).
- `functions/`: the functions' edge: Powertools logging, metrics and tracing, what a message's failure
  does to its job, a queue-fed batch (its dead-letter queue's settled), the Lambda context's shape.
- `ingest/`, `retry/`, `api/`: the services, working on ports; each has its composition root
  (`wiring.py`), the only place that reaches an adapter.
"""
