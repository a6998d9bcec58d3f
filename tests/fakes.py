"""In-memory fakes of the ports (each role's `port.py`: `shared/jobs/`, `shared/ledger/`, ...), with the semantics the services rely on
(conditional lease writes, counters added at checkpoints), for unit tests that run in milliseconds."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.delivery.outcomes import EntryResult
from shared.delivery.shards import ShardMap
from shared.domain.errors import (
    PAYLOAD_MISSING,
    InputFileError,
    JobBusyError,
    JobFinishedError,
    JobNotFoundError,
    JobSupersededError,
    LeaseLostError,
    PayloadMissingError,
)
from shared.domain.jobs import Job, JobStatus, LedgerItem, ObjectRef, Progress
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor, Entry, Fence, ObjectInfo, Transition
from shared.domain.ranges import FanOut, RangeCount, RangeLease, RangeProgress
from shared.readers.source import ByteCounter


class Failing:
    """Fails chosen operations on request, as the real service would: `fail_next("record_progress",
    exc, times=2)` raises `exc` from the next two calls of that method (a throttle past botocore's
    retries, a lost lease, a timeout), then the fake behaves again."""

    def fail_next(self, operation: str, exc: BaseException, times: int = 1) -> None:
        self.__dict__.setdefault("_failing", {}).setdefault(operation, []).extend([exc] * times)

    def _check(self, operation: str) -> None:
        queue = self.__dict__.get("_failing", {}).get(operation)
        if queue:
            raise queue.pop(0)


class FakeJobs(Failing):
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.writes = 0

    def get(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return copy.deepcopy(job) if job else None

    def create(self, ref: ObjectRef, size: int, format_option: str | None, key_field: str | None,
               now: str, *, ordering: str | None = None, aggregate: str | None = None) -> bool:  # fmt: skip
        self._check("create")
        if ref.job_id in self.jobs:
            return False
        self.writes += 1
        extra = {"format_option": format_option, "ordering": ordering, "aggregate": aggregate}
        self.jobs[ref.job_id] = Job(
            ref.job_id, ref.bucket, ref.key, ref.version_id, ref.etag, size, JobStatus.QUEUED,
            partition_key_field=key_field, created_at=now,
            extra={k: v for k, v in extra.items() if v is not None},
        )  # fmt: skip
        return True

    def create_running(self, ref: ObjectRef, size: int, options: dict[str, str | None], owner: str,
                       lease_until: float, now: str) -> Job | None:  # fmt: skip
        self._check("create_running")
        if ref.job_id in self.jobs:
            return None
        self.writes += 1
        extra = {"format_option": options.get("format"), "ordering": options.get("ordering"),
                 "aggregate": options.get("aggregate")}  # fmt: skip
        self.jobs[ref.job_id] = Job(
            ref.job_id, ref.bucket, ref.key, ref.version_id, ref.etag, size, JobStatus.RUNNING,
            partition_key_field=options.get("partition_key_field"), created_at=now,
            lease_owner=owner, lease_expires=lease_until,
            extra={k: v for k, v in extra.items() if v is not None},
        )  # fmt: skip
        return copy.deepcopy(self.jobs[ref.job_id])

    def acquire(self, job_id: str, owner: str, lease_until: float, now: float, hop: int) -> Job:
        self._check("acquire")
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise JobFinishedError(job.status)
        if job.hops > hop:
            raise JobSupersededError(f"job {job_id} is at hop {job.hops}, past {hop}")
        if job.lease_owner not in (None, owner) and job.lease_expires >= now:
            raise JobBusyError(job_id)
        self.writes += 1
        before = job.status
        job.status, job.lease_owner, job.lease_expires, job.hops = (
            JobStatus.RUNNING,
            owner,
            lease_until,
            hop,
        )
        out = copy.deepcopy(job)
        out.extra["previous_status"] = before
        return out

    def fence(self, owner: str) -> Fence:
        return Fence("lease_owner", owner)

    def record_progress(self, job: Job, owner: str, progress: Progress) -> str | None:
        self._check("record_progress")
        stored = self.jobs[job.job_id]
        if stored.lease_owner != owner or stored.status != JobStatus.RUNNING:
            raise LeaseLostError(job.job_id)
        status = progress.status
        if (
            progress.unless_none_failed is not None
            and stored.counts.failed + progress.delta.failed == 0
        ):
            after = copy.deepcopy(stored.counts)
            after.add(progress.delta)
            status = progress.unless_none_failed(after)
        self.writes += 1
        stored.cursor, stored.bytes_read = progress.cursor, progress.bytes_read
        stored.counts.add(progress.delta)
        stored.requests += progress.requests
        if status is not None:
            stored.status = status
        if progress.error is not None:
            stored.error, stored.error_code = progress.error, progress.error_code
        if status is not None or progress.release:
            stored.lease_owner, stored.lease_expires = None, 0.0
        return status

    def newest(self, source_key: str | None, limit: int, start: dict[str, Any] | None = None,
               prefixes: dict[str, str] | None = None) -> tuple[list[Job], dict[str, Any] | None]:  # fmt: skip
        jobs = sorted(self.jobs.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        if source_key:
            jobs = [j for j in jobs if f"{j.bucket}/{j.key}" == source_key]
        if start:
            at = next(i for i, j in enumerate(jobs) if j.job_id == start["job_id"])
            jobs = jobs[at + 1 :]
        page, more = jobs[:limit], len(jobs) > limit
        values = {"job_id": lambda j: j.job_id, "source_key": lambda j: f"{j.bucket}/{j.key}"}
        kept = [
            j for j in page if all(values[a](j).startswith(p) for a, p in (prefixes or {}).items())
        ]
        return [copy.deepcopy(j) for j in kept], ({"job_id": page[-1].job_id} if more else None)

    def release_if_owner(self, job_id: str, owner: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.lease_owner == owner:
            job.lease_owner, job.lease_expires = None, 0.0

    def fail_unfinished(self, job_id: str, error: str, error_code: str, statuses: tuple[str, ...],
                        now: float) -> Job | None:  # fmt: skip
        job = self.jobs.get(job_id)
        if job is None or job.status not in statuses:
            return None
        if job.lease_owner is not None and job.lease_expires >= now:
            return None  # a live invocation holds it
        was = copy.deepcopy(job)
        job.status, job.error, job.error_code = JobStatus.FAILED, error, error_code
        job.lease_owner, job.lease_expires = None, 0.0
        return was


class FakeRecords(Failing):
    """`fences`: the jobs (and ranges) whose leases guard fenced writes, as the job item does."""

    def __init__(self, fences: FakeJobs | None = None, ranges: FakeRanges | None = None) -> None:
        self.items: dict[tuple[str, int], LedgerItem] = {}
        self.fences, self.ranges = fences, ranges

    def _hold(self, job_id: str, fence: Fence | None) -> None:
        if fence is None or self.fences is None:
            return
        if fence.attribute == "lease_owner":
            job = self.fences.jobs.get(job_id)
            holder = job.lease_owner if job else None
        else:
            index = int(fence.attribute[1:].split("_")[0])
            state = self.ranges.state.get((job_id, index)) if self.ranges else None
            holder = state.owner if state else None
        if holder != fence.owner:
            raise LeaseLostError(f"job {job_id}: the lease is no longer {fence.owner}'s")

    def put(self, items: Sequence[LedgerItem], fence: Fence | None = None) -> None:
        self._check("put")
        if items:
            self._hold(items[0].job_id, fence)
        for item in items:
            self.items[(item.job_id, item.seq)] = LedgerItem.from_values(item.values())

    def delete_from(
        self, job_id: str, seq: int, until: int | None = None, fence: Fence | None = None
    ) -> int:
        gone = [
            k
            for k in self.items
            if k[0] == job_id and k[1] >= seq and (until is None or k[1] < until)
        ]
        if gone:
            self._hold(job_id, fence)
        for k in gone:
            del self.items[k]
        return len(gone)

    def get(self, job_id: str, seq: int) -> LedgerItem | None:
        return self.items.get((job_id, seq))

    def by_status(self, job_id: str, status: str, limit: int, start: dict[str, Any] | None = None
                  ) -> tuple[list[LedgerItem], dict[str, Any] | None]:  # fmt: skip
        self._check("by_status")
        after = start["seq"] if start else -1
        found = sorted((i for (j, s), i in self.items.items()
                        if j == job_id and i.status == status and s > after), key=lambda i: i.seq)  # fmt: skip
        page = found[:limit]
        return page, ({"seq": page[-1].seq} if len(found) > limit else None)

    def page(self, job_id: str, limit: int, start: dict[str, Any] | None = None
             ) -> tuple[list[LedgerItem], dict[str, Any] | None]:  # fmt: skip
        after = start["seq"] if start else -1
        found = sorted((i for (j, s), i in self.items.items() if j == job_id and s > after),
                       key=lambda i: i.seq)  # fmt: skip
        page = found[:limit]
        return page, ({"job_id": job_id, "seq": page[-1].seq} if len(found) > limit else None)


class FakeObjects(Failing):
    def __init__(self) -> None:
        self.gets = 0
        self.reads: list[tuple[str, int, int | None]] = []
        self.objects: dict[tuple[str, str], bytes] = {}
        self.versions: dict[tuple[str, str], str] = {}

    def add(self, bucket: str, key: str, data: bytes, version: str = "v1") -> ObjectRef:
        self.objects[(bucket, key)], self.versions[(bucket, key)] = data, version
        return ObjectRef(bucket, key, version, f'"{hash(data) & 0xFFFF:x}"', len(data))

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        if (bucket, key) not in self.objects:
            raise InputFileError(f"cannot read s3://{bucket}/{key}: NoSuchKey")
        data = self.objects[(bucket, key)]
        return ObjectInfo(len(data), None, self.versions.get((bucket, key)))

    def chunks(self, bucket: str, key: str, *, version_id: str | None, etag: str | None,
               start: int = 0, end: int | None = None, counter: ByteCounter | None = None,
               ) -> Iterator[bytes]:  # fmt: skip
        self.reads.append((key, start, end))
        data = self.objects[(bucket, key)][start:end]
        for i in range(0, len(data), 64):
            if i >= self.__dict__.get("fail_after_bytes", len(data) + 1):
                self._check("chunks")  # the connection drops part way through the object
            if counter is not None:
                counter.count += len(data[i : i + 64])
            yield data[i : i + 64]

    def head_bytes(self, bucket: str, key: str, n: int) -> bytes | None:
        data = self.objects.get((bucket, key))
        return None if data is None else data[:n]

    def get(self, bucket: str, key: str, version_id: str) -> tuple[bytes, ObjectInfo]:
        info = self.head(bucket, key, version_id)
        self.gets += 1
        return self.objects[(bucket, key)], info

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[(bucket, key)] = data

    def read(self, bucket: str, key: str) -> bytes:
        if (bucket, key) not in self.objects:
            raise PayloadMissingError(
                PAYLOAD_MISSING, f"the payload kept at s3://{bucket}/{key} is gone"
            )
        return self.objects[(bucket, key)]


@dataclass
class FakeQueue:
    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append((body, delay_seconds))


@dataclass
class FakeStream:
    """Accepts every entry, unless `fail(entry)` names an error code (or raises) for it. Entries land
    on the shard of `shards` (even ranges) their explicit hash key or partition key maps to."""

    fail: Callable[[Entry], str | None] = lambda entry: None
    records: list[tuple[bytes, str]] = field(default_factory=list)
    limits_: KinesisLimits = field(default_factory=KinesisLimits)
    shards: int = 1
    by_shard: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict)
    calls: int = 0
    map_reads: int = 0

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        self.calls += 1
        out = []
        shard_map = ShardMap.even(self.shards)
        for entry in entries:
            code = self.fail(entry)
            if code:
                out.append(EntryResult(error_code=code, error_message="injected"))
            else:
                self.records.append((entry.data, entry.partition_key))
                shard = shard_map.shards[
                    shard_map.index_for(entry.partition_key, entry.explicit_hash_key)
                ].shard_id
                self.by_shard.setdefault(shard, []).append((entry.data, entry.partition_key))
                out.append(EntryResult(shard, str(len(self.records))))
        return out

    def limits(self, request_kib: int | None = None) -> KinesisLimits:
        return self.limits_

    def shard_map(self, refresh: bool = False) -> ShardMap:
        self.map_reads += 1
        return ShardMap.even(self.shards)


@dataclass
class FakeEvents:
    published: list[tuple[str, str, str | None]] = field(default_factory=list)
    pending: list[tuple[str, str, str | None]] = field(default_factory=list)

    def changed(self, job: Job, status: str, previous: str | None) -> None:
        if status != previous:
            self.pending.append((job.job_id, status, previous))

    def flush(self) -> None:
        self.published += self.pending
        self.pending = []


class FakeLeases:
    """The retry lease and status moves, on the FakeJobs' own jobs."""

    def __init__(self, jobs: FakeJobs) -> None:
        self._jobs = jobs
        self.owner: dict[str, tuple[str, float]] = {}

    def acquire(self, job_id: str, owner: str, until: float, now: float, round_: int = 0) -> bool:
        held = self.owner.get(job_id)
        if job_id not in self._jobs.jobs or (held and held[0] != owner and held[1] >= now):
            return False
        self.owner[job_id] = (owner, until)
        self._jobs.jobs[job_id].extra["retry_round"] = round_
        return True

    def release(self, job_id: str, owner: str) -> None:
        if self.owner.get(job_id, ("",))[0] == owner:
            del self.owner[job_id]

    def set_status(self, job_id: str, status: str, when: tuple[str, ...],
                   require_no_failed: bool = False) -> Job | None:  # fmt: skip
        job = self._jobs.jobs[job_id]
        if job.status not in when or (require_no_failed and job.counts.failed):
            return None
        was = copy.deepcopy(job)
        job.status = status
        return was


class FakeLedgerMoves:
    """Record transitions and the job's counters, moved together (as one transaction would)."""

    def __init__(self, jobs: FakeJobs, records: FakeRecords) -> None:
        self._jobs, self._records = jobs, records

    def apply(self, job_id: str, moves: list[Transition]) -> list[Transition]:
        applied = []
        counts = self._jobs.jobs[job_id].counts
        for move in moves:
            item = self._records.items.get((job_id, move.seq))
            if item is None or item.status != move.from_status:
                continue
            moved = LedgerItem.from_values({**item.values(), **move.values})
            self._records.items[(job_id, move.seq)] = moved
            setattr(counts, move.from_status, getattr(counts, move.from_status) - 1)
            setattr(counts, moved.status, getattr(counts, moved.status) + 1)
            applied.append(move)
        return applied


@dataclass
class _Range:
    count: RangeCount | None = None
    cursor: Cursor | None = None
    bytes_read: int = 0
    owner: str | None = None
    expires: float = 0.0
    done: bool = False
    hops: int = 0


class FakeRanges(Failing):
    """Ranges of a cut job, beside the fake jobs: a range's progress adds to its job's counters."""

    def __init__(self, jobs: FakeJobs) -> None:
        super().__init__()
        self._jobs = jobs
        self.cuts: dict[str, FanOut] = {}
        self.state: dict[tuple[str, int], _Range] = {}

    def cut(self, job: Job, owner: str, fan: FanOut) -> FanOut:
        self._check("cut")
        stored = self._jobs.jobs[job.job_id]
        if stored.lease_owner != owner or stored.status != JobStatus.RUNNING:
            raise LeaseLostError(job.job_id)
        if job.job_id not in self.cuts:
            self.cuts[job.job_id] = FanOut(list(fan.starts), fan.format, fan.hold)
            stored.extra["fanout"] = {"starts": fan.starts}
        stored.lease_owner, stored.lease_expires = None, 0.0
        return self.fanout(job.job_id)  # type: ignore[return-value]

    def fanout(self, job_id: str) -> FanOut | None:
        plan = self.cuts.get(job_id)
        if plan is None:
            return None
        fan = FanOut(list(plan.starts), plan.format, plan.hold)
        for (j, i), r in self.state.items():
            if j == job_id and r.count is not None:
                fan.counts[i] = r.count
            if j == job_id and r.done:
                fan.done.add(i)
        return fan

    def read(self, job_id: str) -> tuple[Job, FanOut | None] | None:
        job = self._jobs.get(job_id)
        return (job, self.fanout(job_id)) if job is not None else None

    def counted(self, job_id: str, index: int, count: RangeCount) -> FanOut | None:
        self._check("counted")
        r = self.state.setdefault((job_id, index), _Range())
        if r.count is not None or self._jobs.jobs[job_id].status != JobStatus.RUNNING:
            return None
        r.count = count
        n = sum(1 for (j, _), x in self.state.items() if j == job_id and x.count is not None)
        self._jobs.jobs[job_id].extra["ranges_counted"] = n
        return self.fanout(job_id)

    def acquire(self, job_id: str, index: int, owner: str, lease_until: float, now: float,
                hop: int) -> RangeLease:  # fmt: skip
        self._check("acquire")
        job = self._jobs.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        r = self.state.setdefault((job_id, index), _Range())
        if job.status != JobStatus.RUNNING or r.done:
            raise JobFinishedError(f"job {job_id} is {job.status}; range {index} done: {r.done}")
        if r.hops > hop:
            raise JobSupersededError(f"range {index} of job {job_id} is at hop {r.hops}")
        if job_id not in self.cuts or (r.owner not in (None, owner) and r.expires >= now):
            raise JobBusyError(f"range {index} of job {job_id}")
        r.owner, r.expires, r.hops = owner, lease_until, hop
        fan = self.fanout(job_id)
        assert fan is not None
        return RangeLease(copy.deepcopy(job), fan, r.cursor, r.bytes_read)

    def record_progress(self, job_id: str, index: int, owner: str, progress: Progress, *,
                        done: bool = False) -> RangeProgress:  # fmt: skip
        self._check("record_progress")
        r = self.state[(job_id, index)]
        if r.owner != owner or r.done:
            raise LeaseLostError(f"range {index} of job {job_id}")
        job = self._jobs.jobs[job_id]
        r.cursor, r.bytes_read = progress.cursor, r.bytes_read + progress.bytes_read
        job.counts.add(progress.delta)
        job.bytes_read += progress.bytes_read
        job.requests += progress.requests
        if done:
            r.done = True
        if done or progress.release:
            r.owner, r.expires = None, 0.0
        plan = self.cuts[job_id]
        finished = sum(1 for (j, _), x in self.state.items() if j == job_id and x.done)
        job.extra["ranges_done"] = finished
        return RangeProgress(finished, len(plan.starts) - 1, job.status)

    def release_if_owner(self, job_id: str, index: int, owner: str) -> None:
        r = self.state.get((job_id, index))
        if r is not None and r.owner == owner:
            r.owner, r.expires = None, 0.0
