"""Getting records into the stream: partition keys and packing under the limits, shard maps, routing,
KPL aggregation, per-shard pacing, and the sender that keeps the promises. Works on the domain and on
the stream port it is handed; no boto3."""
