"""Job ids people can type: any unique prefix, or none for the newest job."""

from __future__ import annotations

import pytest

from loader.client import ClientError
from loader.commands import resolve_job

IDS = ["abcdefghijklmnopqrstuvwx", "abcdzzzzzzzzzzzzzzzzzzzz", "qrstuvwxyz234567abcdefgh"]


class FakeApi:
    """Answers GET /jobs as the API does: newest first, filtered by id prefix, paged."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def get(self, path: str, **query):
        assert path == "/jobs"
        found = [i for i in self.ids if i.startswith(query.get("id_prefix") or "")]
        start = int(query.get("next_token") or 0)
        limit = query["limit"]
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "jobs": [{"job_id": i} for i in page],
            "next_token": str(start + limit) if more else None,
        }


@pytest.mark.parametrize(
    ("ref", "job_id"), [(None, IDS[0]), ("q", IDS[2]), ("ABCDE", IDS[0]), (IDS[1], IDS[1])]
)
def test_a_job_is_named_by_a_unique_prefix_or_is_the_newest(ref, job_id):
    assert resolve_job(FakeApi(IDS), ref) == job_id


def test_an_ambiguous_prefix_lists_the_matches():
    with pytest.raises(ClientError, match="abcdefghijklmnopqrstuvwx, abcdzzzzzzzzzzzzzzzzzzzz"):
        resolve_job(FakeApi(IDS), "abcd")


@pytest.mark.parametrize(("ids", "ref", "message"), [
    (IDS, "zz", "no job id starts with 'zz'"),
    (IDS, "a-b", "not a job id"),
    ([], None, "no jobs yet"),
])  # fmt: skip
def test_a_reference_that_names_no_job_says_so(ids, ref, message):
    with pytest.raises(ClientError, match=message):
        resolve_job(FakeApi(ids), ref)
