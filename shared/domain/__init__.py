"""The vocabulary: records, jobs and ledger items, statuses, the stream's limits, our exceptions and how
a failure is classified. Imports nothing but the standard library and itself."""
