"""The jobs table's finishing write on DynamoDB (moto): `retrying` only while a record is failed."""

from __future__ import annotations

import boto3
import pytest

from shared.domain.errors import LeaseLostError
from shared.domain.jobs import Counts, JobStatus, ObjectRef, Progress
from shared.ingest.context import finished_status
from shared.jobs.dynamodb import JobsTable
from tests.integration import stack as moto_stack

OWNER = "req-1:abcd"


def running_job(ddb, failed: int, dead: int = 0):
    jobs = JobsTable(ddb, moto_stack.JOBS)
    ref = ObjectRef("b", "incoming/a.jsonl", "v1", '"e"', 10, None)
    job = jobs.create_running(ref, 10, {}, OWNER, 9e9, "2026-12-07T00:00:00Z")
    assert job is not None
    ddb.update_item(
        TableName=moto_stack.JOBS, Key={"job_id": {"S": job.job_id}},
        UpdateExpression="SET n_failed = :f, n_dead = :d",
        ExpressionAttributeValues={":f": {"N": str(failed)}, ":d": {"N": str(dead)}},
    )  # fmt: skip
    return jobs, job


@pytest.mark.parametrize(
    ("failed", "dead", "expected"),
    [
        (2, 0, JobStatus.RETRYING),
        (0, 0, JobStatus.COMPLETED),
        (0, 1, JobStatus.COMPLETED_WITH_ERRORS),
    ],
)
def test_retrying_is_written_only_while_a_record_is_failed(
    aws, monkeypatch, failed, dead, expected
):
    # between the retry message and this write, a quick retry round may have recovered them all
    moto_stack.create(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=moto_stack.REGION)
    jobs, job = running_job(ddb, failed, dead)
    finishing = Progress(
        job.cursor, Counts(), 10, status=JobStatus.RETRYING, unless_none_failed=finished_status
    )
    written = jobs.record_progress(job, OWNER, finishing)
    stored = jobs.get(job.job_id)
    assert stored is not None
    assert (written, stored.status, stored.lease_owner) == (expected, expected, None)


def test_a_lost_lease_is_still_lost_when_nothing_is_failed(aws, monkeypatch):
    moto_stack.create(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=moto_stack.REGION)
    jobs, job = running_job(ddb, 0)
    with pytest.raises(LeaseLostError):
        finishing = Progress(
            job.cursor, Counts(), 10, status=JobStatus.RETRYING, unless_none_failed=finished_status
        )
        jobs.record_progress(job, "someone-else", finishing)
    stored = jobs.get(job.job_id)
    assert stored is not None and stored.status == "running"
