"""The retry logic: resend a job's failed (or dead) records from the ledger."""
