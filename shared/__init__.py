"""The domain package the Lambdas share, in layers; each imports only the layers above it in this list.

- `domain/`: the vocabulary (records, jobs, ledger items, statuses, limits, exceptions, failures).
- `readers/`: files to records, in bounded memory, with exact lines and offsets.
- `delivery/`: records to PutRecords requests (keys, packing, routing, aggregation, pacing, sending).
- `ports.py`: what the services need from the world, as protocols.
- `config.py`, `names.py`: the functions' settings and the names shared with the stack.
- `job_sender.py`, `resend.py`: sending as a job asks, and resending ledgered records (ingest, retry).
- `ingest/`, `retry/`, `api/`: the services, working on ports; each has its composition root
  (`wiring.py`), the only place that reaches `adapters/`.
- `adapters/`: the boto3 implementations of the ports; the only modules that import boto3.
- `observability.py`, `boundary.py`, `queue_batch.py`: Powertools logging, metrics and tracing, the
  handler edge, and a queue-fed function's batch (its own queue's, and its dead-letter queue's, settled).
"""
