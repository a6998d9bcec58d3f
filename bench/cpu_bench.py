"""CPU-seconds per million records for read + parse + key + route + pack + send (to an accept-all
sink, 4 shards), with and without KPL aggregation, and the Lambda cost that implies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import datagen
from bench.ingest_child import NullStream
from shared.delivery.batches import Batcher
from shared.delivery.outcomes import SendPolicy
from shared.delivery.pacing import ShardPacer
from shared.delivery.packing import to_entries
from shared.delivery.partition_keys import field_key
from shared.delivery.routing import PER_KEY, Routing
from shared.delivery.sending import Sender
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry
from shared.readers import ReadOptions, open_records
from shared.readers.source import file_chunks

# AWS Lambda, arm64, us-east-1 list price (2026): USD per GB-second, and per request.
ARM_GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
MEMORY_GB = 0.5
RECORDS_PER_INVOCATION = 1_000_000  # a 200 MB object is one invocation at this rate
SHARDS = 4


def _cpu_per_million(path: Path, aggregate: bool) -> tuple[float, int]:
    limits = KinesisLimits()
    sink = NullStream(SHARDS)
    # One lane, as before with one request in flight: the sink answers at once, so lanes in threads
    # would measure the GIL handing over between them, not the work per record. No pacing either:
    # the sink has no shard limits, and pacing would only measure the clock.
    routing = Routing(PER_KEY, aggregate, max_lanes=1)
    policy = SendPolicy(max_in_flight=1)
    sender = Sender(sink, policy, routing=routing, limits=limits, pacer=ShardPacer(1e12, 1e15))
    batcher = Batcher.for_sender(limits, routing, SHARDS)
    start = time.process_time()
    with path.open("rb") as f:
        stream = open_records(
            file_chunks(f), path.name, ReadOptions(limits.effective_record_bytes, keep_value=True)
        )
        entries = (
            e for e in to_entries(stream, field_key("user.id"), limits) if isinstance(e, Entry)
        )

        for _ in sender.send_all(batcher.batches(entries)):
            pass
    cpu = time.process_time() - start
    return cpu * 1_000_000 / sink.records, sink.kinesis_records


def run(workdir: Path, records: int = 500_000) -> dict[str, Any]:
    path = datagen.write_jsonl(workdir / "cpu.jsonl", records * 200, size=200)
    plain, plain_records = _cpu_per_million(path, aggregate=False)
    aggregated, agg_records = _cpu_per_million(path, aggregate=True)
    path.unlink()
    cost = plain * MEMORY_GB * ARM_GB_SECOND_USD + REQUEST_USD * 1_000_000 / RECORDS_PER_INVOCATION
    return {
        "records": plain_records,
        "cpu_seconds_per_million": round(plain, 2),
        "cpu_seconds_per_million_aggregated": round(aggregated, 2),
        "aggregated_over_plain_cpu": round(aggregated / plain, 2),
        "kinesis_records_aggregated": agg_records,
        "lambda_cost_per_million_usd_512mb_arm64": round(cost, 6),
    }
