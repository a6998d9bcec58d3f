"""The soak: the loader's own memory over a long run, in a fresh process each.

- 10 million records (JSON Lines, generated as they are read) through one ingest job: the real
  service, its readers, packer, sender and ledger, on in-memory ports, the stream a sink that counts
  and discards. Resident memory is sampled as it goes; the figure is its peak and its growth after
  warm-up (the first tenth of the records): the goal is under 5%.
- 1,000 small files in a row through the same service, each a job of its own, the stores emptied
  after each (their items are the tables', not the loader's): peak and growth after the first 100.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RECORDS = int(os.environ.get("BENCH_SOAK_RECORDS", "10000000"))
SMALL_FILES = int(os.environ.get("BENCH_SOAK_FILES", "1000"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / (1 << 20)


class Sampler:
    """RSS every 50 ms; `mark()` ends the warm-up."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.warm: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.samples.append(rss_mb())

    def mark(self) -> None:
        if self.warm is None:
            self.warm = rss_mb()
            self.samples.append(self.warm)
            self._after = len(self.samples)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_mb())
        assert self.warm is not None, "the run ended before its warm-up"
        after = max(self.samples[self._after - 1 :])
        return {
            "peak_rss_mb": round(max(self.samples), 1),
            "rss_after_warm_up_mb": round(self.warm, 1),
            "rss_growth_after_warm_up_pct": round(100 * (after - self.warm) / self.warm, 2),
        }


def _service(stream: Any, objects: Any) -> tuple[Any, Any]:
    from shared.config import LoaderConfig
    from shared.ingest.service import IngestPorts, IngestService
    from tests.fakes import FakeEvents, FakeJobs, FakeQueue, FakeRecords

    ports = IngestPorts(
        FakeJobs(), FakeRecords(), objects, stream, FakeQueue(), FakeQueue(), FakeEvents()
    )
    config = LoaderConfig(bucket="bench", stream="s", jobs_table="j", records_table="r",
                          retry_queue_url="retry", ingest_queue_url="ingest")  # fmt: skip
    clock = VirtualClock()  # the shards' pace on a virtual clock: no real sleeping, no debt
    return IngestService(config, ports, monotonic=clock, sleep=clock.sleep), ports


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _line(i: int) -> bytes:
    return b'{"id":%d,"user":"u%d","event":"click","at":"2026-12-07T12:00:00Z","pad":"xxxxxxxxxxxxxxxx"}\n' % (i, i % 977)  # fmt: skip


def big_job() -> dict[str, Any]:
    from bench.ingest_child import Context, NullStream
    from shared.domain.jobs import ObjectRef
    from shared.domain.models import ObjectInfo
    from tests.fakes import FakeObjects

    sampler = Sampler()
    stream = NullStream(shards=64)  # 64,000 records/s: the job fits one invocation
    warm_at = RECORDS // 10

    class Generated(FakeObjects):
        """One object of RECORDS lines, made as it is read (the file is S3's memory, not ours)."""

        def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
            return ObjectInfo(self.total, None, "v1")

        def chunks(self, bucket: str, key: str, *, version_id: Any, etag: Any, start: int = 0,
                   end: int | None = None, counter: Any = None) -> Iterator[bytes]:  # fmt: skip
            buf, i = [], 0
            while i < RECORDS:
                buf.append(_line(i))
                i += 1
                if len(buf) == 2048 or i == RECORDS:
                    chunk = b"".join(buf)
                    buf = []
                    if counter is not None:
                        counter.count += len(chunk)
                    if stream.records >= warm_at:
                        sampler.mark()
                    yield chunk

    objects = Generated()
    objects.total = sum(len(_line(i)) for i in range(RECORDS))
    objects.objects[("bench", "incoming/soak.jsonl")] = b""
    service, _ports = _service(stream, objects)
    ref = ObjectRef("bench", "incoming/soak.jsonl", "v1", '"soak"', objects.total)
    started = time.perf_counter()
    report = service.handle(ref, Context())
    seconds = time.perf_counter() - started
    figures = sampler.stop()
    assert report.outcome == "completed" and stream.records == RECORDS, (report, stream.records)
    return {"records": RECORDS, "seconds": round(seconds, 1), **figures}


def small_files() -> dict[str, Any]:
    from bench.ingest_child import Context, NullStream
    from tests.fakes import FakeObjects

    sampler = Sampler()
    stream = NullStream(shards=4)
    objects = FakeObjects()
    service, ports = _service(stream, objects)
    started = time.perf_counter()
    for n in range(SMALL_FILES):
        key = f"incoming/small-{n}.jsonl"
        ref = objects.add("bench", key, b"".join(_line(n * 50 + i) for i in range(50)))
        report = service.handle(ref, Context())
        assert report.outcome == "completed", report
        objects.objects.clear()  # the stores keep what the tables would: not the loader's memory
        ports.jobs.jobs.clear()
        ports.records.items.clear()
        if n + 1 == SMALL_FILES // 10:
            sampler.mark()
    seconds = time.perf_counter() - started
    figures = sampler.stop()
    assert stream.records == SMALL_FILES * 50
    return {"files": SMALL_FILES, "seconds": round(seconds, 1), **figures}


def run() -> dict[str, Any]:
    out = {}
    for name in ("big_job", "small_files"):
        done = subprocess.run([sys.executable, "-m", "bench.soak_bench", name], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "bench")
    figures = {"big_job": big_job, "small_files": small_files}[sys.argv[1]]()
    print(json.dumps(figures))
