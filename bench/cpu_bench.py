"""CPU-seconds per million records for read + parse + key + pack + send (to an accept-all sink), and
the Lambda cost that implies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import datagen
from bench.ingest_child import NullStream
from shared.limits import KinesisLimits
from shared.models import Entry
from shared.packing import pack, to_entries
from shared.partition_keys import field_key
from shared.readers import ReadOptions, open_records
from shared.readers.source import file_chunks
from shared.sending import Sender, SendPolicy

# AWS Lambda, arm64, us-east-1 list price (2026): USD per GB-second, and per request.
ARM_GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
MEMORY_GB = 0.5
RECORDS_PER_INVOCATION = 1_000_000  # a 200 MB object is one invocation at this rate


def run(workdir: Path, records: int = 500_000) -> dict[str, Any]:
    path = datagen.write_jsonl(workdir / "cpu.jsonl", records * 200, size=200)
    limits = KinesisLimits()
    sink = NullStream()
    sender = Sender(sink, SendPolicy(max_in_flight=1))
    start = time.process_time()
    with path.open("rb") as f:
        stream = open_records(
            file_chunks(f), path.name, ReadOptions(limits.effective_record_bytes, keep_value=True)
        )
        entries = (
            e for e in to_entries(stream, field_key("user.id"), limits) if isinstance(e, Entry)
        )
        for _ in sender.send_all(pack(entries, limits)):
            pass
    cpu = time.process_time() - start
    path.unlink()
    per_million = cpu * 1_000_000 / sink.records
    cost = (
        per_million * MEMORY_GB * ARM_GB_SECOND_USD
        + REQUEST_USD * 1_000_000 / RECORDS_PER_INVOCATION
    )
    return {
        "records": sink.records,
        "cpu_seconds_per_million": round(per_million, 2),
        "lambda_cost_per_million_usd_512mb_arm64": round(cost, 6),
    }
