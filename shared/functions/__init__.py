"""The functions' edge: Powertools logging, metrics and tracing, what a message's failure does to
its job (`boundary.py`), a queue-fed batch (`queue_batch.py`), the Lambda context's shape."""
