"""The HTTP API's logic: job status, failed records, retry requests."""
