"""The ingest logic: one object version -> one job, streamed into Kinesis with a ledger."""
