"""Generated hostile files through the ingest Lambda on moto: every job ends, nothing is lost.

Each example uploads a file under a key of its own to one moto stack, with the stream failing a
share of entries, and holds the job to the guarantees: it ends (or waits for a retry, with failed
records in the ledger); records = sent + failed + rejected + dead; what reached the stream is exactly
the reference's records (JSON Lines) and every rejection or failure is in the ledger.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loader.faults import KinesisFaults
from shared.aws import clients
from shared.readers.source import MAGIC_BYTES, compression_of
from tests import reference
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of, stream_data
from tests.strategies import json_line

pytestmark = pytest.mark.fuzz
_names = itertools.count()


@pytest.fixture
def stack(aws, monkeypatch):
    s = moto_stack.create(monkeypatch, LOADER_MAX_ATTEMPTS="2", LOADER_MAX_REQUEST_KIB="2")
    KinesisFaults(throttle=0.2, seed=7).install(clients.client("kinesis"))
    return s


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(json_line, max_size=30), format_option=st.sampled_from([None, "jsonl"]))
def test_a_hostile_json_lines_file_ends_with_every_record_accounted_for(
    stack, lines, format_option
):
    data = b"\n".join(lines)
    assume(compression_of(data[:MAGIC_BYTES]) is None)
    before = Counter(stream_data(stack))
    note = stack.upload(
        f"f{next(_names)}.jsonl", data, {"format": format_option} if format_option else {}
    )
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    counts = {k: int(job[f"n_{k}"]) for k in ("records", "sent", "failed", "rejected", "dead")}
    assert job["status"] in ("completed", "completed_with_errors", "retrying")
    assert (
        counts["records"] == counts["sent"] + counts["failed"] + counts["rejected"] + counts["dead"]
    )
    expected = reference.json_lines(data)
    good = [e[2] for e in expected if e[0] == "record"]
    landed = Counter(stream_data(stack)) - before
    failed = {i["seq"]: i for i in stack.records(job_id_of(note)) if i["status"] == "failed"}
    rejected = [i for i in stack.records(job_id_of(note)) if i["status"] == "rejected"]
    assert counts["records"] == len(expected)
    assert len(rejected) == counts["rejected"] == len(expected) - len(good)
    assert len(failed) == counts["failed"]
    assert landed + Counter(bytes(i["payload"]) for i in failed.values()) == Counter(good)
