"""The baseline's load-parse-batch on one object from a moto server, with accept-all sinks: its own peak
memory (VmHWM) as JSON. Usage: python -m bench.baseline_child BUCKET KEY (endpoint from AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import sys

import boto3

from bench import baseline
from bench.measure import peak_rss_mb


def main() -> None:
    bucket, key = sys.argv[1:3]
    result = baseline.ingest(
        boto3.client("s3"), baseline.NullDynamo(), baseline.NullKinesis(), bucket=bucket, key=key,
        stream="null", jobs_table="null", records_table="null",
    )  # fmt: skip
    print(json.dumps({"records": result["records"], "peak_rss_mb": round(peak_rss_mb(), 1)}))


if __name__ == "__main__":
    main()
