"""`make bench`: every scenario, side by side in one run; figures to bench/results.json and a table."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import (
    compare_bench,
    cpu_bench,
    fanout_bench,
    ingest_bench,
    local_stack_bench,
    plan_bench,
    shard_bench,
    small_files_bench,
    soak_bench,
)

RESULTS = Path(__file__).with_name("results.json")
GB = 1024**3


def main() -> None:
    plan_size = int(float(os.environ.get("BENCH_PLAN_GB", "1")) * GB)
    ingest_size = int(float(os.environ.get("BENCH_INGEST_GB", "1")) * GB)
    growth = tuple(
        int(mb) << 20 for mb in os.environ.get("BENCH_GROWTH_MB", "16,64,256").split(",")
    )
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as tmp:
        work = Path(tmp)
        tp = plan_bench.throughput(work)
        rss = plan_bench.peak_rss_plan(work, plan_size)
        ingest = ingest_bench.run(work, ingest_size, baseline_sizes=growth)
        compare = compare_bench.run(work)
        cpu = cpu_bench.run(work)
        shards = shard_bench.run()
        small = small_files_bench.run()
        fanout = fanout_bench.run(work, int(float(os.environ.get("BENCH_FANOUT_GB", "1")) * GB))
        soak = soak_bench.run()
        local_stack = local_stack_bench.run()
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "throughput_ratio_vs_baseline": compare["throughput_ratio_vs_baseline"],
        "throughput_ratio_vs_baseline_in_process": compare["throughput_ratio_vs_baseline_in_process"],
        "peak_rss_mb_1gb": ingest["peak_rss_mb"],
        "requests_over_lower_bound": compare["requests_over_lower_bound"],
        "ddb_writes_per_million_sent": ingest["ddb_writes_per_million_sent"],
        "baseline_ddb_writes_per_million_sent": compare["baseline_ddb_writes_per_million_sent"],
        "shard_utilization": shards["shard_utilization"],
        "records_retried_fraction": shards["records_retried_fraction"],
        "aggregated_over_plain_records_per_s": shards["aggregated_over_plain_records_per_s"],
        "aggregated_byte_utilization": shards["aggregated_byte_utilization"],
        "ordered_over_unordered_uniform": shards["ordered_over_unordered_uniform"],
        "ordered_over_unordered_skewed": shards["ordered_over_unordered_skewed"],
        "billable_kib_per_million_100b": {"plain": shards["billable_kib_per_million_plain"],
                                          "aggregated": shards["billable_kib_per_million_aggregated"]},
        "cpu_seconds_per_million": cpu["cpu_seconds_per_million"],
        "cpu_seconds_per_million_aggregated": cpu["cpu_seconds_per_million_aggregated"],
        "aggregated_over_plain_cpu": cpu["aggregated_over_plain_cpu"],
        "client_cpu_seconds_per_million_end_to_end": compare["client_cpu_seconds_per_million"],
        "lambda_cost_per_million_usd_512mb_arm64": cpu["lambda_cost_per_million_usd_512mb_arm64"],
        "plan_records_per_cpu_second_jsonl_200b": tp["records_per_cpu_second"],
        "small_files": {
            "files_per_minute": small["together"]["files_per_minute"],
            "files_per_minute_one_at_a_time": small["one_at_a_time"]["files_per_minute"],
            "aws_calls_per_file": small["together"]["aws_calls_per_file"],
            "aws_calls_per_file_one_at_a_time": small["one_at_a_time"]["aws_calls_per_file"],
            "ddb_writes_per_file": small["together"]["ddb_writes_per_file"],
            "put_records_calls": small["together"]["put_records_calls"],
            "put_records_calls_one_at_a_time": small["one_at_a_time"]["put_records_calls"],
        },
        "fanout": {
            "object_mb": fanout["object_mb"],
            "one_range_seconds": fanout["one_range"]["seconds"],
            "two_ranges_seconds": fanout["two_ranges"]["seconds"],
            "speedup_two_ranges": fanout["speedup_two_ranges"],
            "model_16_ranges": fanout["model"],
        },
        "soak": {
            "records": soak["big_job"]["records"],
            "peak_rss_mb": soak["big_job"]["peak_rss_mb"],
            "rss_growth_after_warm_up_pct": soak["big_job"]["rss_growth_after_warm_up_pct"],
            "small_files": soak["small_files"]["files"],
            "small_files_peak_rss_mb": soak["small_files"]["peak_rss_mb"],
            "small_files_rss_growth_after_warm_up_pct": soak["small_files"]["rss_growth_after_warm_up_pct"],
        },
        "local_stack_per_job": {
            "fresh_upload_to_completed_s": local_stack["fresh"]["upload_to_completed_s"],
            "after_jobs": local_stack["jobs_between"],
            "after_upload_to_completed_s": local_stack["after_jobs"]["upload_to_completed_s"],
            "ratio": local_stack["job_time_ratio_after_over_fresh"],
            "list_100_jobs_s": [local_stack["fresh"]["list_100_jobs_s"], local_stack["after_jobs"]["list_100_jobs_s"]],
            "aws_emulator_rss_mb": [local_stack["fresh"]["aws_emulator_rss_mb"], local_stack["after_jobs"]["aws_emulator_rss_mb"]],
        },
        "plan_peak_rss_mb_by_format": {fmt: r["peak_rss_mb"] for fmt, r in rss.items()},
        "details": {"plan_throughput": tp, "plan_runs": rss, "plan_file_gb": plan_size / GB, "ingest": ingest,
                    "compare": compare, "cpu": cpu, "shards": shards["runs"],
                    "small_files": small, "fanout": fanout, "soak": soak, "local_stack": local_stack},
        "seconds": round(time.time() - started, 1),
    }  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _print(r: dict[str, Any]) -> None:
    d = r["details"]
    server, local = d["compare"]["server"], d["compare"]["in_process"]
    rows = [
        ("throughput vs baseline (20k records, moto server)", f"{r['throughput_ratio_vs_baseline']}x "
         f"({server['ours']['records_per_s']:,} vs {server['baseline']['records_per_s']:,} records/s)", ">= 50"),
        ("  the same, moto in-process", f"{r['throughput_ratio_vs_baseline_in_process']}x "
         f"({local['ours']['records_per_s']:,} vs {local['baseline']['records_per_s']:,} records/s)", ""),
        ("ingest peak RSS, 1 GB object", f"{r['peak_rss_mb_1gb']} MB", "<= 150"),
        ("PutRecords calls / lower bound", f"{r['requests_over_lower_bound']}", "1.0"),
        ("DynamoDB writes per million sent", f"{r['ddb_writes_per_million_sent']:,} "
         f"(baseline {r['baseline_ddb_writes_per_million_sent']:,})", "<= 2,000"),
        ("shard utilization (uniform keys, per-key order)", f"{r['shard_utilization']} (retried {r['records_retried_fraction']})", ">= 0.9"),
        ("100-byte records/s, aggregated over plain (4 shards)", f"{r['aggregated_over_plain_records_per_s']}x "
         f"(aggregated use {r['aggregated_byte_utilization']} of the shards' bytes)", ">= 8x, >= 0.9"),
        ("per-key order over none, uniform keys", f"{r['ordered_over_unordered_uniform']}x", ">= 0.9"),
        ("per-key order over none, skewed keys (no aggregation)", f"{r['ordered_over_unordered_skewed']}x", "report"),
        ("on-demand KiB billed per million 100-byte records", f"{r['billable_kib_per_million_100b']['plain']:,} plain, "
         f"{r['billable_kib_per_million_100b']['aggregated']:,} aggregated", ""),
        ("CPU-s per million records (null sink, 4 shards)", f"{r['cpu_seconds_per_million']} "
         f"(${r['lambda_cost_per_million_usd_512mb_arm64']} at 512 MB arm64)", ""),
        ("  the same, aggregated", f"{r['cpu_seconds_per_million_aggregated']} "
         f"({r['aggregated_over_plain_cpu']}x)", "<= 1.5x"),
        ("CPU-s per million records, whole ingest client (moto server)",
         f"{r['client_cpu_seconds_per_million_end_to_end']}", ""),
        ("500 small files (20 records) on loader local, files/minute",
         f"{r['small_files']['files_per_minute']:,} (one at a time: {r['small_files']['files_per_minute_one_at_a_time']:,})", ">= 2,000"),
        ("  AWS calls per small file (the functions')",
         f"{r['small_files']['aws_calls_per_file']} ({r['small_files']['ddb_writes_per_file']} DynamoDB writes; "
         f"one at a time: {r['small_files']['aws_calls_per_file_one_at_a_time']})", "<= 4, <= 2"),
        ("  PutRecords calls for the 10,000 records",
         f"{r['small_files']['put_records_calls']} (one at a time: {r['small_files']['put_records_calls_one_at_a_time']})", ""),
        (f"{r['fanout']['object_mb']} MB JSON Lines object: 2 parallel ranges over 1 chain",
         f"{r['fanout']['speedup_two_ranges']}x ({r['fanout']['one_range_seconds']} s vs "
         f"{r['fanout']['two_ranges_seconds']} s)", ">= 1.6x"),
        ("  16 ranges, modelled from those (not measured)",
         f"{r['fanout']['model_16_ranges']['predicted_seconds']} s, "
         f"{r['fanout']['model_16_ranges']['predicted_speedup']}x, on a stream of "
         f"{r['fanout']['model_16_ranges']['stream_shards_needed']} shards", ""),
        (f"soak: {r['soak']['records']:,} records through one ingest job (null sink)",
         f"peak RSS {r['soak']['peak_rss_mb']} MB, growth after warm-up {r['soak']['rss_growth_after_warm_up_pct']}%", "< 5%"),
        (f"soak: {r['soak']['small_files']:,} small files in a row",
         f"peak RSS {r['soak']['small_files_peak_rss_mb']} MB, growth after warm-up "
         f"{r['soak']['small_files_rss_growth_after_warm_up_pct']}%", "< 5%"),
        (f"loader local: one job fresh, and after {r['local_stack_per_job']['after_jobs']:,} jobs",
         f"{r['local_stack_per_job']['fresh_upload_to_completed_s']} s, {r['local_stack_per_job']['after_upload_to_completed_s']} s "
         f"({r['local_stack_per_job']['ratio']}x; emulator RSS {r['local_stack_per_job']['aws_emulator_rss_mb'][0]} -> "
         f"{r['local_stack_per_job']['aws_emulator_rss_mb'][1]} MB)", "~1x"),
        ("plan: records per CPU-second", f"{r['plan_records_per_cpu_second_jsonl_200b']:,}", ">= 100,000"),
        ("plan peak RSS by format, 1 GB", ", ".join(f"{k} {v}" for k, v in r["plan_peak_rss_mb_by_format"].items()), "< 150"),
    ]  # fmt: skip
    width = max(len(name) for name, _, _ in rows)
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value}" + (f"   (goal {goal})" if goal else ""))
    print("memory growth, ours vs baseline (MB of RSS at MB of object):")
    for ours, base in zip(d["ingest"]["growth"], d["ingest"]["baseline_growth"], strict=True):
        print(
            f"  {ours['object_mb']:>8} MB   ours {ours.get('peak_rss_mb', ours.get('error'))}   baseline {base.get('peak_rss_mb', base.get('error'))}"
        )
    print("shard simulator (virtual clock, 4 shards, 100-byte records):")
    for row in d["shards"]:
        agg = "aggregated" if row["aggregate"] else "plain"
        print(f"  {row['sender']:<6} {row['keys']:<8} {row['ordering']:<8} {agg:<10} {row['records_per_s']:>8,} records/s  "
              f"records {row['shard_utilization_records']:<6} bytes {row['shard_utilization_bytes']:<6} "
              f"requests {row['requests']:>6,}  retried {row['entries_retried_fraction']:<7} "
              f"out of key order {row['order_violations']:<5} lost {row['lost']}")  # fmt: skip
    print(f"written to {RESULTS} in {r['seconds']} s")


if __name__ == "__main__":
    main()
