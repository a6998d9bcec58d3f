"""The ledger of records that need attention: the port, its DynamoDB adapter, and the moves of a
record sent again (`resend.py`, for the retry rounds and the ingest's per-key resend)."""
