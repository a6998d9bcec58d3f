"""Read + parse + pack throughput on one core, and peak memory while planning a 1 GB file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench import datagen
from shared.delivery.packing import Packer, to_entries
from shared.delivery.partition_keys import field_key
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry
from shared.readers import ReadOptions, open_records
from shared.readers.source import file_chunks

MB = 1024 * 1024


def throughput(workdir: Path, records: int = 500_000) -> dict[str, float]:
    """Records/s of read + parse + key + pack for 200-byte JSON Lines with a partition-key field."""
    path = datagen.write_jsonl(workdir / "tp.jsonl", records * 200, size=200)
    limits = KinesisLimits()
    options = ReadOptions(limits.effective_record_bytes, keep_value=True)
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    count = requests = 0
    with path.open("rb") as f:
        packer = Packer(limits)
        for item in to_entries(
            open_records(file_chunks(f), path.name, options), field_key("user.id"), limits
        ):
            if isinstance(item, Entry):
                count += 1
                if packer.add(item):
                    requests += 1
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    size = path.stat().st_size
    path.unlink()
    return {
        "records": count,
        "records_per_cpu_second": round(count / cpu),
        "records_per_wall_second": round(count / wall),
        "mean_record_bytes": round(size / max(count, 1), 1),
    }


def peak_rss_plan(workdir: Path, size_bytes: int) -> dict[str, dict[str, float]]:
    """Peak RSS of `loader plan --json` on a file of `size_bytes`, per format (a fresh process each)."""
    writers = {
        "jsonl": datagen.write_jsonl,
        "json": datagen.write_json_array,
        "csv": datagen.write_csv,
        "text": datagen.write_text,
    }
    results: dict[str, dict[str, float]] = {}
    for fmt, write in writers.items():
        path = write(workdir / f"big.{'txt' if fmt == 'text' else fmt}", size_bytes)
        results[fmt] = _plan_in_child(path)
        if fmt == "jsonl":
            gz = datagen.compress(path, "gzip")
            results["jsonl.gz"] = _plan_in_child(gz)
            gz.unlink()
        path.unlink()
    return results


def _plan_in_child(path: Path) -> dict[str, float]:
    peak = path.with_suffix(".peak")
    args = [sys.executable, "-m", "bench.measure", str(peak), "loader", "plan", str(path), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"plan failed on {path}: {proc.stderr.decode()[-2000:]}")
    return {
        "file_mb": round(path.stat().st_size / MB, 1),
        "peak_rss_mb": float(peak.read_text()),
        "seconds": round(time.perf_counter() - start, 1),
    }
