"""Jobs: the port (`port.py`) and its DynamoDB adapters: the jobs table, a job's checkpoint write, its
ranges, its leases (the invocation's, a range's, the retry rounds')."""
