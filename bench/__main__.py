"""`make bench`: every scenario, side by side in one run; figures to bench/results.json and a table."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import ingest_bench, plan_bench

RESULTS = Path(__file__).with_name("results.json")
GB = 1024**3


def main() -> None:
    size = int(float(os.environ.get("BENCH_PLAN_GB", "1")) * GB)
    ingest_size = int(float(os.environ.get("BENCH_INGEST_GB", "1")) * GB)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as tmp:
        work = Path(tmp)
        tp = plan_bench.throughput(work)
        rss = plan_bench.peak_rss_plan(work, size)
        ingest = ingest_bench.run(work, ingest_size)
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "plan_records_per_cpu_second_jsonl_200b": tp["records_per_cpu_second"],
        "plan_throughput": tp,
        "plan_peak_rss_mb_by_format": {fmt: r["peak_rss_mb"] for fmt, r in rss.items()},
        "plan_1gb_runs": rss,
        "plan_file_gb": size / GB,
        "ingest_peak_rss_mb": ingest["peak_rss_mb"],
        "ddb_writes_per_million_sent": ingest["ddb_writes_per_million_sent"],
        "ingest_run": ingest,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"read + parse + key + pack, 200-byte JSON Lines: {tp['records_per_cpu_second']:,} records/CPU-s (goal >= 100,000)"
    )
    print(f"loader plan on {size / GB:g} GB files (goal: peak RSS < 150 MB):")
    print(f"  {'format':<10}{'file MB':>10}{'peak RSS MB':>14}{'seconds':>10}")
    for fmt, r in rss.items():
        print(f"  {fmt:<10}{r['file_mb']:>10}{r['peak_rss_mb']:>14}{r['seconds']:>10}")
    print(
        f"ingest handler on a {ingest['object_mb']:,} MB object: peak RSS {ingest['peak_rss_mb']} MB (goal < 150), "
        f"{ingest['records_sent']:,} records in {ingest['seconds']} s, "
        f"{ingest['ddb_writes_per_million_sent']:,} DynamoDB writes per million records sent"
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
