"""A seeded world for fault schedules: the real ingest and retry handlers on the in-memory fakes, run
by an emulated event source on a simulated clock, with faults drawn from the seed.

Every port call is a step. A scheduler hands one invocation at a time a baton (real threads, only one
ever runs), and at each step it may pass the baton to another invocation, jump the clock (a slow call:
leases expire, messages come back while their first invocation still runs), or kill the invocation
(a crash: `Crash` is raised, and every later step of that invocation raises it again, so no `finally`
and no `except` of the function writes anything after it). Queues redeliver what was not deleted after
the visibility timeout and give up after the receive count, as SQS does. The stream throttles, fails
entries, goes out for a while and times out after writing, as the seed says.

`python -m tests.simulation SEED` replays one schedule and prints what it did.
"""

from __future__ import annotations

import os

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")

import gzip
import json
import random
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from loader.crash_points import point_names
from shared.config import LoaderConfig
from shared.delivery.aggregation import deaggregate
from shared.delivery.outcomes import EntryResult
from shared.domain.errors import InputFileError, StreamRetriableError
from shared.domain.jobs import ObjectRef
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, ObjectInfo
from shared.ingest.service import IngestPorts, IngestService
from shared.retry.messages import RetryRequest
from shared.retry.service import RetryPorts, RetryService
from tests.fakes import (
    FakeEvents,
    FakeJobs,
    FakeLeases,
    FakeLedgerMoves,
    FakeObjects,
    FakeRanges,
    FakeRecords,
    FakeStream,
)
from tests.lambda_helpers import s3_notification

BUCKET = "bucket"
TIMEOUT_S = 30.0  # the emulated functions' timeout
VISIBILITY_S = TIMEOUT_S * 6  # as the deployed queues: six times the consumer's timeout
MAX_RECEIVES = 5
TERMINAL = ("completed", "completed_with_errors", "failed")
POINT_NAMES = point_names()


class Crash(BaseException):
    """The invocation is killed here (a timeout, out of memory): nothing of it runs after."""


# -- the scheduler --------------------------------------------------------------------------------
class Runner:
    def __init__(self, name: str, work: Callable[[], Any], function: str = "") -> None:
        self.name, self.work, self.function = name, work, function
        self.dead = self.finished = False
        self.deadline = float("inf")
        self.wake_at = 0.0
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None


class Sim:
    """The clock, the baton and the faults of one schedule."""

    def __init__(
        self,
        seed: int,
        *,
        crash_at: set[int],
        slow_rate: float,
        overrun: bool = False,
        points: dict[str, int] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = 1_000_000.0
        self.crash_at, self.slow_rate = crash_at, slow_rate
        # named crash points (loader.crash_points), each killing the Nth invocation to reach it
        self.points = dict(points or {})
        self.hits: dict[str, int] = {}
        # overrun: nothing stops an invocation at its timeout (as the local stack's emulated Lambda),
        # so a slow one outlives its lease and its message's visibility, and overlaps its successor
        self.overrun = overrun
        self.cv = threading.Condition()
        self.current: Runner | None = None
        self.steps = 0
        self.crashes: list[str] = []
        self.slow = 0
        self.log: list[str] = []

    # time
    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Only the sleeper waits: it is not resumed before its time, while the others go on."""
        runner = self.current
        if runner is None or threading.current_thread() is threading.main_thread():
            self.now += max(0.0, seconds)
            return
        runner.wake_at = self.now + max(0.0, seconds)
        self.step("sleep")

    # steps
    def step(self, point: str) -> None:
        runner = self.current
        if runner is None or threading.current_thread() is threading.main_thread():
            return  # set-up and checks run outside the schedule
        if runner.dead:
            raise Crash(point)
        self.steps += 1
        self.now += self.rng.expovariate(50.0)
        if self.rng.random() < self.slow_rate:  # a slow call: the invocation may run out of time
            longest = 300.0 if self.overrun else 6.0  # below the time margin, unless overrunning
            runner.wake_at = max(runner.wake_at, self.now + self.rng.uniform(0.5, longest))
            self.slow += 1
        if os.environ.get("SIM_TRACE") == "2":
            left = runner.deadline - self.now
            print(f"    [{self.now - 1_000_000:9.2f} s] {runner.name} {point} ({left:.1f} s left)")
        if self.now > runner.deadline and not self.overrun:  # Lambda stops it at its timeout
            runner.dead = True
            self.crashes.append(f"{runner.name} timed out at {point}")
            raise Crash(point)
        if self.steps in self.crash_at:
            runner.dead = True
            self.crashes.append(f"{runner.name} at {point}")
            raise Crash(point)
        named = f"{runner.function}.{point.replace(':', '.')}"
        if named in POINT_NAMES:
            self.hits[named] = hits = self.hits.get(named, 0) + 1
            if self.points.get(named) == hits:
                runner.dead = True
                self.crashes.append(f"{runner.name} at crash point {named}")
                raise Crash(point)
        with self.cv:  # hand the baton back; the scheduler picks who goes on
            self.current = None
            self.cv.notify_all()
            self.cv.wait_for(lambda: self.current is runner)
        if self.now > runner.deadline and not self.overrun:  # it slept, or waited, past its timeout
            runner.dead = True
            self.crashes.append(f"{runner.name} timed out after {point}")
            raise Crash(point)

    def start(self, runner: Runner) -> None:
        def body() -> None:
            with self.cv:
                self.cv.wait_for(lambda: self.current is runner)
            try:
                runner.result = runner.work()
            except Crash:
                runner.dead = True
            except BaseException as exc:  # the event source sees the invocation fail
                runner.error = exc
            with self.cv:
                runner.finished = True
                self.current = None
                self.cv.notify_all()

        runner.thread = threading.Thread(target=body, name=runner.name, daemon=True)
        runner.thread.start()

    def resume(self, runner: Runner) -> None:
        with self.cv:
            self.current = runner
            self.cv.notify_all()
            self.cv.wait_for(lambda: self.current is None)


def stepped(sim: Sim, name: str, target: Any) -> Any:
    """`target` with every method call a step before and after (a crash may fall on either side)."""

    class Proxy:
        def __getattr__(self, attr: str) -> Any:
            value = getattr(target, attr)
            if not callable(value) or attr.startswith("_"):
                return value

            def call(*args: Any, **kwargs: Any) -> Any:
                sim.step(f"{name}.{attr}:before")
                out = value(*args, **kwargs)
                if isinstance(out, Iterator):
                    return _stepped_iter(sim, f"{name}.{attr}", out)
                sim.step(f"{name}.{attr}:after")
                return out

            return call

    return Proxy()


def _stepped_iter(sim: Sim, name: str, it: Iterator[Any]) -> Iterator[Any]:
    for value in it:
        sim.step(f"{name}:next")
        yield value


# -- the world's pieces ------------------------------------------------------------------------------
@dataclass
class Message:
    id: str
    body: str
    visible_at: float
    receives: int = 0
    held_until: float = 0.0


class SimQueue:
    """An SQS queue on the simulated clock: delays, visibility, receive counts, a dead-letter queue."""

    def __init__(
        self, sim: Sim, name: str, *, visibility: float = VISIBILITY_S, dlq: SimQueue | None = None
    ) -> None:
        self.sim, self.name, self.visibility, self.dlq = sim, name, visibility, dlq
        self.messages: list[Message] = []
        self.dead: list[Message] = []  # every message moved to the dead-letter queue
        self._ids = 0

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:us-east-1:123456789012:{self.name}"

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self._ids += 1
        raw = json.dumps(body)
        self.messages.append(Message(f"{self.name}-{self._ids}", raw, self.sim.now + delay_seconds))

    def visible(self) -> list[Message]:
        return [m for m in self.messages if max(m.visible_at, m.held_until) <= self.sim.now]

    def receive(self, n: int) -> list[Message]:
        got = []
        for m in self.visible():
            if self.dlq is not None and m.receives >= MAX_RECEIVES:
                self.messages.remove(m)
                self.dead.append(m)
                self.dlq.messages.append(Message(m.id, m.body, self.sim.now))
                continue
            m.receives += 1
            m.held_until = self.sim.now + self.visibility
            got.append(m)
            if len(got) == n:
                break
        return got

    def delete(self, ids: set[str]) -> None:
        self.messages = [m for m in self.messages if m.id not in ids]

    def next_visible(self) -> float | None:
        times = [max(m.visible_at, m.held_until) for m in self.messages]
        return min(times) if times else None


class SimObjects(FakeObjects):
    """A versioned bucket: reads name a version; an overwrite adds one; `lose` makes one unreadable."""

    def __init__(self) -> None:
        super().__init__()
        self.by_version: dict[tuple[str, str], bytes] = {}
        self.lost: set[str] = set()
        self.sim: Sim | None = None
        self.outage: tuple[float, float] | None = None  # S3 unreachable from .. to

    def _reachable(self) -> None:
        if self.outage and self.sim and self.outage[0] <= self.sim.now < self.outage[1]:
            raise ConnectionError("S3 unreachable (injected)")

    def add_version(self, key: str, data: bytes, version: str) -> ObjectRef:
        self.by_version[(key, version)] = data
        return self.add(BUCKET, key, data, version)

    def _data(self, key: str, version_id: str | None) -> bytes:
        version = version_id or self.versions.get((BUCKET, key))
        if version in self.lost or (key, version) not in self.by_version:
            raise InputFileError(
                f"cannot read s3://{BUCKET}/{key} version {version}: NoSuchVersion"
            )
        return self.by_version[(key, version)]  # type: ignore[index]

    def get(self, bucket: str, key: str, version_id: str) -> tuple[bytes, ObjectInfo]:
        self._reachable()
        self.gets += 1
        return self._data(key, version_id or None), self.head(bucket, key, version_id or None)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._reachable()
        super().put(bucket, key, data)

    def read(self, bucket: str, key: str) -> bytes:
        self._reachable()
        return super().read(bucket, key)

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        self._reachable()
        data = self._data(key, version_id)
        version = version_id or self.versions.get((bucket, key))
        meta = self.__dict__.get("metadata", {}).get((key, version), {})
        return ObjectInfo(len(data), None, version, dict(meta))

    def chunks(self, bucket: str, key: str, *, version_id: str | None, etag: str | None,
               start: int = 0, end: int | None = None, counter: Any = None) -> Iterator[bytes]:  # fmt: skip
        self._reachable()
        data = self._data(key, version_id)[start:end]
        for i in range(0, len(data), 4096):
            self._reachable()
            piece = data[i : i + 4096]
            if counter is not None:
                counter.count += len(piece)
            yield piece


@dataclass
class Faults:
    throttle: float = 0.0
    internal: float = 0.0
    outage: tuple[float, float] | None = None
    ambiguous: float = 0.0  # a call that wrote its entries, then timed out
    s3_outage: tuple[float, float] | None = None  # S3 unreachable (from, to)


@dataclass
class SimStream(FakeStream):
    sim: Sim | None = None
    faults: Faults = field(default_factory=Faults)
    healed: bool = False
    timeouts: int = 0  # calls that wrote their entries, then timed out (each may be sent again)

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        sim = self.sim
        assert sim is not None
        f = self.faults if not self.healed else Faults()
        out_now = f.outage is not None and f.outage[0] <= sim.now < f.outage[1]

        def fail(entry: Entry) -> str | None:
            if out_now:
                return "InternalFailure"
            r = sim.rng.random()
            if r < f.throttle:
                return "ProvisionedThroughputExceededException"
            if r < f.throttle + f.internal:
                return "InternalFailure"
            return None

        self.fail = fail
        results = super().put_records(entries)
        if f.ambiguous and sim.rng.random() < f.ambiguous:
            self.timeouts += 1
            raise StreamRetriableError("RequestTimeout", "timed out after the write")
        return results


class SimContext:
    def __init__(self, sim: Sim, name: str, timeout: float) -> None:
        self.sim, self.deadline = sim, sim.now + timeout
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = f"req-{sim.rng.getrandbits(48):012x}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.sim.now) * 1000))


# -- the files ---------------------------------------------------------------------------------------
@dataclass
class File:
    key: str
    data: bytes
    ids: list[str]  # the records' ids, in file order (a rejected line has none)
    rejected: int
    metadata: dict[str, str] = field(default_factory=dict)
    keyed: bool = False


def _jsonl(name: str, n: int, rng: random.Random, *, keys: int = 0, bad: bool = False) -> File:
    lines, ids, rejected = [], [], 0
    for i in range(n):
        if bad and rng.random() < 0.03:
            lines.append(b'{"broken": ')
            rejected += 1
            continue
        rid = f"{name}-{i}"
        doc: dict[str, Any] = {"id": rid, "pad": "x" * rng.randint(0, 12)}
        if keys:
            doc["k"] = f"key{rng.randrange(keys)}"
        lines.append(json.dumps(doc, separators=(",", ":")).encode())
        ids.append(rid)
    return File(f"incoming/{name}.jsonl", b"\n".join(lines) + b"\n", ids, rejected)


def _csv(name: str, n: int) -> File:
    rows = [b"id,v"] + [f"{name}-{i},{i}".encode() for i in range(n)]
    return File(
        f"incoming/{name}.csv", b"\n".join(rows) + b"\n", [f"{name}-{i}" for i in range(n)], 0
    )


KINDS = ("plain", "keyed", "csv", "gzip", "fanout", "small", "aggregated")


def make_files(rng: random.Random, only: Sequence[str] | None = None) -> list[File]:
    kinds = rng.sample(list(KINDS), k=rng.randint(1, 3))
    if only is not None:
        kinds = list(only)
    files: list[File] = []
    for n, kind in enumerate(kinds):
        name = f"f{n}{kind}"
        if kind == "plain":
            files.append(_jsonl(name, rng.randint(20, 300), rng, bad=True))
        elif kind == "keyed":
            f = _jsonl(name, rng.randint(20, 300), rng, keys=rng.randint(1, 12), bad=True)
            f.metadata, f.keyed = {"partition-key-field": "k"}, True
            files.append(f)
        elif kind == "csv":
            files.append(_csv(name, rng.randint(10, 200)))
        elif kind == "gzip":
            f = _jsonl(name, rng.randint(20, 300), rng, bad=True)
            files.append(File(f.key + ".gz", gzip.compress(f.data), f.ids, f.rejected))
        elif kind == "fanout":
            files.append(_jsonl(name, 4200, rng, bad=rng.random() < 0.5))  # ~130 KiB: cut in ranges
        elif kind == "small":
            files += [
                _jsonl(f"{name}{i}", rng.randint(1, 25), rng) for i in range(rng.randint(2, 4))
            ]
        else:
            f = _jsonl(name, rng.randint(20, 300), rng, keys=rng.randint(1, 30))
            f.metadata, f.keyed = {"partition-key-field": "k", "aggregate": "true"}, True
            files.append(f)
    return files


# -- one schedule -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    seed: int
    problems: list[str]
    steps: int
    crashes: list[str]
    jobs: dict[str, str]
    notes: list[str]
    hits: dict[str, int] = field(default_factory=dict)  # the named crash points reached, how often

    def __str__(self) -> str:
        lines = [f"seed {self.seed}: {self.steps} steps, {len(self.crashes)} crashes"]
        lines += [f"  job {k}: {v}" for k, v in self.jobs.items()]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  crash: {c}" for c in self.crashes]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class Scenario:
    """Faults chosen rather than drawn (for paths that drawn faults reach only now and then)."""

    name: str
    faults: Callable[[float], Faults]  # from the simulated time the schedule starts at
    inline_payload_bytes: int | None = None


class World:
    """One schedule. With `kinds`, its files are of those kinds; with `points`, it crashes at those
    named points (point: the Nth invocation to reach it) and at no random step."""

    def __init__(
        self,
        seed: int,
        *,
        kinds: Sequence[str] | None = None,
        points: dict[str, int] | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        rng = random.Random(seed ^ 0x5EED)
        self.seed = seed
        crashes = rng.choice([0, 0, 1, 2, 3])  # at random steps of the whole schedule
        crash_at = set(rng.sample(range(1, 1500), crashes))
        self.sim = sim = Sim(
            seed,
            crash_at=crash_at if points is None else set(),
            slow_rate=rng.choice([0.002, 0.01]) if rng.random() < 0.4 else 0.0,
            overrun=rng.random() < 0.2,
            points=points,
        )
        faults = Faults(
            throttle=rng.choice([0.0, 0.0, 0.1, 0.4]),
            internal=rng.choice([0.0, 0.05, 0.1]),
            outage=(sim.now + rng.uniform(0, 20), sim.now + rng.uniform(20, 120))
            if rng.random() < 0.25
            else None,
            ambiguous=rng.choice([0.0, 0.0, 0.05]),
            s3_outage=(sim.now + rng.uniform(-60, 60), sim.now + rng.choice([30.0, 300.0, 1500.0]))
            if rng.random() < 0.15
            else None,
        )
        if scenario is not None:
            faults = scenario.faults(sim.now)
        self.notes = [
            f"faults {faults}",
            f"crashes at steps {sorted(sim.crash_at)}, slow rate {sim.slow_rate}"
            f"{', invocations overrun their timeout' if sim.overrun else ''}",
        ]
        self.jobs, self.objects = FakeJobs(), SimObjects()
        self.objects.sim, self.objects.outage = sim, faults.s3_outage
        self.ranges = FakeRanges(self.jobs)
        self.records = FakeRecords(self.jobs, self.ranges)
        self.stream = SimStream(limits_=KinesisLimits(max_entries=rng.choice([10, 50])), shards=rng.choice([1, 2, 4]),
                                sim=sim, faults=faults)  # fmt: skip
        # the dead-letter queues, each settled by its function (kept there, seen again hourly)
        self.ingest_dlq = SimQueue(sim, "ingest-dlq", visibility=3600.0)
        self.retry_dlq = SimQueue(sim, "retry-dlq", visibility=3600.0)
        self.ingest_q = SimQueue(sim, "ingest", dlq=self.ingest_dlq)
        self.retry_q = SimQueue(sim, "retry", dlq=self.retry_dlq)
        self.events = FakeEvents()
        self.leases = FakeLeases(self.jobs)  # the retry lease: retry rounds and the ingest's resend
        self.config = LoaderConfig(
            bucket=BUCKET, stream="s", jobs_table="j", records_table="r", retry_queue_url="retry",
            ingest_queue_url="ingest", max_in_flight=1, max_attempts=rng.choice([2, 4, 8]),
            checkpoint_every_requests=rng.choice([1, 2, 4]), time_margin_seconds=8.0,
            retry_delay_seconds=5, retry_max_delay_seconds=60, max_retries=rng.choice([2, 5]),
            small_file_bytes=4096, fanout_min_bytes=128 * 1024, fanout_max_parallel=3,
            inline_payload_bytes=rng.choice([32 * 1024, 40]),  # 40: failed payloads spill to S3
            dead_letter_arns=tuple(f"arn:aws:sqs:us-east-1:123456789012:{n}-dlq" for n in ("ingest", "retry")),
        )  # fmt: skip
        if scenario is not None and scenario.inline_payload_bytes is not None:
            self.config = replace(self.config, inline_payload_bytes=scenario.inline_payload_bytes)
        s = lambda name, target: stepped(sim, name, target)  # noqa: E731
        self.ingest = IngestService(
            self.config,
            IngestPorts(
                s("jobs", self.jobs),
                s("records", self.records),
                s("objects", self.objects),
                s("stream", self.stream),
                s("ingest_queue", self.ingest_q),
                s("retry_queue", self.retry_q),
                s("events", self.events),
                s("moves", FakeLedgerMoves(self.jobs, self.records)),
                s("ranges", self.ranges),
                s("retry_lease", self.leases),
            ),
            clock=sim.clock,
            monotonic=sim.clock,
            sleep=sim.sleep,
        )
        self.retry = RetryService(
            self.config,
            RetryPorts(
                s("jobs", self.jobs),
                s("retry_lease", self.leases),
                s("records", self.records),
                s("moves", FakeLedgerMoves(self.jobs, self.records)),
                s("objects", self.objects),
                s("stream", self.stream),
                s("retry_queue", self.retry_q),
                s("events", self.events),
            ),
            clock=sim.clock,
            sleep=sim.sleep,
            rng=sim.rng.random,
            monotonic=sim.clock,
        )
        self.rng = rng
        self.files = make_files(rng, kinds)
        self.uploads: dict[str, File] = {}  # job id -> the file that version holds

    # uploads and events
    def upload(self, f: File, version: str, *, duplicate: bool = False) -> None:
        ref = self.objects.add_version(f.key, f.data, version)
        self.objects.__dict__.setdefault("metadata", {})[(f.key, version)] = f.metadata
        self.uploads[ref.job_id] = f
        body = s3_notification(BUCKET, f.key, version_id=version, etag=ref.etag, size=len(f.data))
        for _ in range(2 if duplicate else 1):
            self.ingest_q.send(body, delay_seconds=int(self.rng.uniform(0, 3)))

    def invoke(self, queue: SimQueue, messages: list[Message], handler: Callable[..., Any],
               service: Any) -> Runner:  # fmt: skip
        from tests.lambda_helpers import sqs_event

        event = sqs_event(*[m.body for m in messages])
        for record, m in zip(event["Records"], messages, strict=True):
            record["messageId"] = m.id
            record["eventSourceARN"] = queue.arn
            record["attributes"]["ApproximateReceiveCount"] = str(m.receives)
        context = SimContext(self.sim, f"loader-{queue.name}", TIMEOUT_S)
        runner = Runner(
            f"{queue.name}:{'+'.join(m.id for m in messages)}",
            lambda: handler(event, context, service=service),
            function=queue.name.split("-")[0],  # a dead-letter queue's function is its queue's
        )
        runner.deadline = context.deadline
        runner.queue, runner.messages = queue, messages  # type: ignore[attr-defined]
        self.sim.start(runner)
        return runner

    def run(self, max_steps: int = 60_000) -> Outcome:
        from lambdas.ingest.handler import handler as ingest_handler
        from lambdas.retry.handler import handler as retry_handler

        rng, sim = self.rng, self.sim
        for n, f in enumerate(self.files):
            self.upload(f, f"v{n}", duplicate=rng.random() < 0.3)
        overwrite = rng.choice(self.files) if rng.random() < 0.15 else None
        lose = rng.choice(self.files) if rng.random() < 0.1 else None
        retry_asks = rng.randint(0, 2)
        runners: list[Runner] = []
        concurrency = rng.randint(1, 3)
        healed_at = sim.now + 600.0  # faults stop after ten simulated minutes: everything must end
        while True:
            if sim.steps > max_steps:
                break
            if sim.now >= healed_at:
                self.stream.healed = True
            if overwrite is not None and rng.random() < 0.01:
                data = overwrite.data.replace(b'"id":"', b'"id":"new-')  # a new version's own ids
                if overwrite.key.endswith(".gz"):
                    data = gzip.compress(
                        gzip.decompress(overwrite.data).replace(b'"id":"', b'"id":"new-')
                    )
                elif overwrite.key.endswith(".csv"):
                    data = overwrite.data.replace(b"\nf", b"\nnew-f")
                changed = File(overwrite.key, data, [f"new-{i}" for i in overwrite.ids],
                               overwrite.rejected, overwrite.metadata, overwrite.keyed)  # fmt: skip
                self.upload(changed, "v-over")
                overwrite = None
            if lose is not None and rng.random() < 0.005:
                version = next(v for (k, v) in self.objects.by_version if k == lose.key)
                self.objects.lost.add(version)
                self.notes.append(f"version {version} of {lose.key} lost")
                lose = None
            if retry_asks and self.jobs.jobs and rng.random() < 0.01:
                job_id = rng.choice(sorted(self.jobs.jobs))
                self.retry_q.send(RetryRequest(job_id, 1, include_dead=rng.random() < 0.5).body())
                retry_asks -= 1
            runners = [r for r in runners if not r.finished or self._settle(r)]
            live = [r for r in runners if not r.finished]
            choices: list[Any] = [r for r in live if r.wake_at <= sim.now]
            for queue, handler, service, batch in ((self.ingest_q, ingest_handler, self.ingest, 10),
                                                   (self.retry_q, retry_handler, self.retry, 1),
                                                   (self.ingest_dlq, ingest_handler, self.ingest, 10),
                                                   (self.retry_dlq, retry_handler, self.retry, 10)):  # fmt: skip
                busy = sum(1 for r in live if r.queue is queue)  # type: ignore[attr-defined]
                if busy < concurrency and queue.visible():
                    choices.append((queue, handler, service, batch))
            if not choices:
                queues = [self.ingest_q, self.retry_q]
                if (
                    any(
                        m.receives == 0
                        for q in (self.ingest_dlq, self.retry_dlq)
                        for m in q.messages
                    )
                    or not self._ended()
                ):
                    queues += [self.ingest_dlq, self.retry_dlq]  # their hourly visits, while due
                pending = [t for t in (q.next_visible() for q in queues) if t is not None]
                pending += [r.wake_at for r in live]
                if not pending:
                    break
                sim.now = max(sim.now, min(pending)) + 0.001
                continue
            pick = rng.choice(choices)
            if isinstance(pick, Runner):
                sim.resume(pick)
                continue
            queue, handler, service, batch = pick
            messages = queue.receive(rng.randint(1, batch))
            self.trace(f"receive {[(m.id, m.receives, m.body[:90]) for m in messages]}")
            if messages:
                runner = self.invoke(queue, messages, handler, service)
                runners.append(runner)
                sim.resume(runner)
        for r in runners:
            if not r.finished:
                r.dead = True
                sim.resume(r)
        return self.check()

    def _ended(self) -> bool:
        return all(j.status in TERMINAL for j in self.jobs.jobs.values()) and len(
            self.jobs.jobs
        ) >= len(self.uploads)

    def trace(self, line: str) -> None:
        if os.environ.get("SIM_TRACE"):
            print(f"[{self.sim.now - 1_000_000:9.2f} s, step {self.sim.steps}] {line}")

    def _duplicates(self) -> list[str]:
        """A record lands twice only when a request's outcome was lost: the requests in flight at a
        crash (or a timeout of Lambda's), a call that wrote and then timed out, or an invocation that
        outlived its lease and sent before its fence stopped it. Each such event re-sends at most the
        requests one invocation sends between two checkpoints."""
        seen: set[str] = set()
        resent = 0  # stream entries carrying a record already in the stream
        for data, _key in self.stream.records:
            ids = [json.loads(payload).get("id") for payload in _payloads(data)]
            resent += any(rid in seen for rid in ids)
            seen.update(ids)
        events = (
            len(self.sim.crashes)
            + self.stream.timeouts
            + (self.sim.slow if self.sim.overrun else 0)
        )
        # a batch is one request a lane (aggregated, two); a job checkpoints every few requests
        lanes = self.stream.shards * (
            2 if any(f.metadata.get("aggregate") for f in self.files) else 1
        )
        per_event = self.config.checkpoint_every_requests * lanes * self.stream.limits_.max_entries
        if resent > events * per_event:
            return [
                f"{resent} entries sent again after {events} lost outcomes "
                f"(at most {per_event} each): a duplicate not from the requests in flight"
            ]
        return []

    def _settle(self, runner: Runner) -> bool:
        """A finished invocation: delete what succeeded, as the event source does. False: forget it."""
        queue, messages = runner.queue, runner.messages  # type: ignore[attr-defined]
        self.trace(
            f"{runner.name} ended: dead {runner.dead}, error {runner.error!r}, {runner.result}"
        )
        if runner.dead or runner.error is not None:
            return False  # nothing deleted: the messages come back after the visibility timeout
        failed = {f["itemIdentifier"] for f in (runner.result or {}).get("batchItemFailures", [])}
        queue.delete({m.id for m in messages if m.id not in failed})
        return False

    # the invariants
    def check(self) -> Outcome:
        problems: list[str] = []
        seen: dict[str, int] = {}
        for data, _key in self.stream.records:
            for payload in _payloads(data):
                rid = json.loads(payload).get("id")
                seen[rid] = seen.get(rid, 0) + 1
        states = {}
        for job_id, f in self.uploads.items():
            job = self.jobs.jobs.get(job_id)
            if job is None:
                problems.append(f"{f.key}: no job")
                continue
            c = job.counts
            states[f"{job_id[:8]} {f.key}"] = (
                f"{job.status} {c.as_dict()} {job.error or ''}".strip()
            )
            if job.status not in TERMINAL:
                problems.append(f"{f.key}: job never ended ({job.status}, cursor {job.cursor.seq})")
                continue
            if c.records != c.sent + c.failed + c.rejected + c.dead:
                problems.append(
                    f"{f.key}: records {c.records} != sent+failed+rejected+dead {c.as_dict()}"
                )
            ledger = [i for (j, _), i in self.records.items.items() if j == job_id]
            for status in ("failed", "rejected", "dead"):
                n = sum(1 for i in ledger if i.status == status)
                if n != getattr(c, status):
                    problems.append(
                        f"{f.key}: {n} ledger items {status}, counted {getattr(c, status)}"
                    )
            if job.status == "failed":
                continue  # what went out before is counted; the rest never was read
            if c.failed:
                problems.append(f"{f.key}: ended {job.status} with {c.failed} failed")
            if c.records != len(f.ids) + f.rejected or c.rejected != f.rejected:
                problems.append(
                    f"{f.key}: counted {c.as_dict()}, the file has {len(f.ids)} + {f.rejected} bad"
                )
            missing = [rid for rid in f.ids if seen.get(rid, 0) == 0]
            dead = sum(1 for i in ledger if i.status == "dead")
            if len(missing) > dead:
                problems.append(
                    f"{f.key}: {len(missing)} records never reached the stream ({dead} dead), e.g. {missing[:3]}"
                )
        problems += self._duplicates()
        overwritten = {f.key for f in self.uploads.values()}
        if len(self.jobs.jobs) != len(self.uploads) and len(overwritten) == len(self.files):
            problems.append(f"{len(self.jobs.jobs)} jobs for {len(self.uploads)} uploaded versions")
        for q in (self.ingest_q, self.retry_q):
            self.notes += [f"dead-lettered on {q.name}: {m.body[:160]}" for m in q.dead]
        if self.sim.steps > 60_000:
            problems.append("the schedule did not settle within 60,000 steps")
        return Outcome(self.seed, problems, self.sim.steps, self.sim.crashes, states, self.notes)


def _payloads(data: bytes) -> list[bytes]:
    if data[:4] == b"\xf3\x89\x9a\xc2":
        return [r.data for r in deaggregate(data) or []]
    return [data]


def run_schedule(
    seed: int,
    *,
    kinds: Sequence[str] | None = None,
    points: dict[str, int] | None = None,
    scenario: Scenario | None = None,
) -> Outcome:
    random.seed(seed)  # the sender's jitter draws from the module's generator
    world = World(seed, kinds=kinds, points=points, scenario=scenario)
    outcome = world.run()
    outcome.hits = dict(world.sim.hits)
    return outcome


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--search":  # --search FIRST COUNT: the failing seeds
        first, count = int(sys.argv[2]), int(sys.argv[3])
        bad = [o for o in map(run_schedule, range(first, first + count)) if o.problems]
        for o in bad:
            print(o)
        print(f"{len(bad)} of {count} schedules failed")
    else:
        for arg in sys.argv[1:]:
            print(run_schedule(int(arg)))


# -- every crash point, on every kind of job ----------------------------------------------------------
@dataclass
class Sweep:
    runs: list[tuple[str, str, int, int, Outcome]] = field(
        default_factory=list
    )  # kind, point, seed, n
    reached: dict[str, set[str]] = field(default_factory=dict)  # point -> the kinds that reach it

    @property
    def failures(self) -> list[str]:
        return [
            f"{point}:{n} on a {kind} job (seed {seed}): {'; '.join(o.problems)}"
            for kind, point, seed, n, o in self.runs
            if o.problems
        ]


# Paths the drawn faults reach only now and then: a job that never gets to exist (S3 down through
# every delivery of its event), a retry round that cannot read its spilled payloads to the last
# delivery, a keyed job that gives records up and continues (its resend, under the retry lease).
SCENARIOS = (
    Scenario("S3 down from the start", lambda now: Faults(s3_outage=(now - 1, now + 1500))),
    Scenario(
        "throttled, then S3 down",
        lambda now: Faults(throttle=0.5, s3_outage=(now + 20, now + 1600)),
        inline_payload_bytes=1,
    ),
    Scenario("a stream outage", lambda now: Faults(outage=(now, now + 90), throttle=0.2)),
    Scenario(  # the retry rounds cannot read the payloads: their queue gives up, the job fails
        "a stream outage, then S3 down",
        lambda now: Faults(outage=(now, now + 60), s3_outage=(now + 30, now + 3000)),
        inline_payload_bytes=1,
    ),
)


def sweep_crash_points(
    kinds: Sequence[str] = KINDS,
    seeds: Sequence[int] = range(40),
    scenario_seeds: int = 4,
    share: tuple[int, int] = (0, 1),
) -> Sweep:
    """For each kind of job: schedules without crashes (drawn faults, then the chosen scenarios) say
    which points its jobs reach and how often; then, for each point reached, one schedule kills at
    its first visit and one at its last. With `share=(i, k)`, only the i-th of every k points reached
    is killed at (so a sweep can be split between workers)."""
    sweep = Sweep()
    surveys: list[tuple[int, Scenario | None]] = [(seed, None) for seed in seeds]
    surveys += [(seed, sc) for sc in SCENARIOS for seed in range(scenario_seeds)]
    for kind in kinds:
        visits: dict[str, tuple[int, Scenario | None, int]] = {}  # point -> its first survey
        for seed, scenario in surveys:
            survey = run_schedule(seed, kinds=[kind], points={}, scenario=scenario)
            for point, hits in survey.hits.items():
                visits.setdefault(point, (seed, scenario, hits))
        for index, (point, (seed, scenario, hits)) in enumerate(sorted(visits.items())):
            sweep.reached.setdefault(point, set()).add(kind)
            if index % share[1] != share[0]:
                continue
            for n in sorted({1, hits}):
                outcome = run_schedule(seed, kinds=[kind], points={point: n}, scenario=scenario)
                sweep.runs.append((kind, point, seed, n, outcome))
    return sweep
