"""Every crash point, killed at, on every kind of job (tests/simulation.py): for each kind, schedules
without crashes find the points its jobs reach; then one schedule kills at each point's first visit
and one at its last, and each is held to the schedules' invariants (the job ends; records = sent +
failed + rejected + dead; every accepted record in the stream or dead; one job per version). The API's
one write is killed at on the local stack (tests/e2e/test_crash_points_local.py).

`python -m tests.simulation --sweep` runs the whole sweep and prints what each point cost."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loader.cli import main
from loader.crash_points import SIDES, WRITES, parse, point_names
from tests.simulation import KINDS, sweep_crash_points


def _points(function: str, *writes: str) -> set[str]:
    return {f"{function}.{write}.{side}" for write in writes for side in SIDES}


# What every job reaches, whatever its kind: its ingest, its events and a retry round.
EVERY_JOB = _points(
    "ingest", "jobs.create", "jobs.create_running", "jobs.fail_unfinished", "jobs.record_progress",
    "records.put", "stream.put_records", "ingest_queue.send", "retry_queue.send", "events.flush",
) | _points(
    "retry", "retry_lease.acquire", "retry_lease.set_status", "retry_lease.release", "moves.apply",
    "stream.put_records", "retry_queue.send", "events.flush",
) | {"ingest.jobs.acquire.before"}  # fmt: skip

# What only some kinds reach (a kind's files decide its paths).
BY_KIND: dict[str, set[str]] = {
    "plain": _points("ingest", "jobs.acquire", "records.delete_from", "objects.put"),
    "keyed": _points(
        "ingest",
        "jobs.acquire",
        "jobs.release_if_owner",
        "moves.apply",
        "retry_lease.acquire",
        "retry_lease.release",
        "records.delete_from",
        "objects.put",
    ),
    "csv": _points("ingest", "jobs.acquire", "records.delete_from"),
    "gzip": _points("ingest", "jobs.acquire", "records.delete_from", "objects.put"),
    "fanout": _points(
        "ingest",
        "ranges.cut",
        "ranges.counted",
        "ranges.acquire",
        "ranges.record_progress",
        "ranges.release_if_owner",
        "jobs.acquire",
        "jobs.release_if_owner",
        "records.delete_from",
    ),
    "small": _points("ingest", "objects.put"),
    "aggregated": _points("ingest", "objects.put"),
}
# A retry round that cannot run (its payloads unreadable, S3 down) is given up by its queue, and the
# settling of the dead letter fails the job (the scenario "a stream outage, then S3 down").
for kind in ("plain", "keyed", "csv", "gzip", "small", "aggregated"):
    BY_KIND[kind] |= _points("retry", "jobs.fail_unfinished")
ON_THE_LOCAL_STACK = _points("api", "retry_queue.send")
SHARES = {"fanout": 3}  # the longest sweep, split between workers


def test_every_listed_point_is_killed_at_by_some_kind_of_job_or_on_the_local_stack():
    expected = EVERY_JOB | ON_THE_LOCAL_STACK
    expected |= set().union(*BY_KIND.values())
    assert expected == point_names()
    assert len(point_names()) >= 20 and set(BY_KIND) == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "share"),
    [(kind, (i, SHARES.get(kind, 1))) for kind in KINDS for i in range(SHARES.get(kind, 1))],
    ids=lambda v: v if isinstance(v, str) else f"{v[0] + 1}of{v[1]}",
)
def test_a_crash_at_each_point_a_kind_reaches_keeps_the_invariants(kind, share):
    sweep = sweep_crash_points(kinds=[kind], share=share)
    assert not sweep.failures, "\n".join(sweep.failures)
    reached = set(sweep.reached)
    missing = (EVERY_JOB | BY_KIND[kind]) - reached
    assert not missing, f"a {kind} job no longer reaches {sorted(missing)}"
    killed = {point for _, point, _, _, _ in sweep.runs}
    assert killed and all(point in reached for point in killed)
    assert sum(1 for *_, outcome in sweep.runs if outcome.crashes) == len(sweep.runs)


def test_the_local_stack_lists_its_points_and_refuses_a_point_it_does_not_have():
    runner = CliRunner()
    listed = runner.invoke(main, ["local", "--list-crash-points"])
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.output.splitlines()]
    assert sorted(names) == sorted(point_names()) and len(names) >= 20
    refused = runner.invoke(main, ["local", "--crash", "ingest.stream.put_record.after"])
    assert refused.exit_code == 2 and "no crash point" in refused.output
    assert parse("retry.moves.apply.before:3") == ("retry.moves.apply.before", 3)
    with pytest.raises(ValueError):
        parse("api.retry_queue.send.after:0")


def test_every_function_writes_through_listed_methods_only():
    assert set(WRITES) == {"ingest", "retry", "api"}
    for function, writes in WRITES.items():
        methods = [(port, method) for port, method, _ in writes]
        assert len(methods) == len(set(methods)), function
        assert all(description for *_, description in writes)
