"""`loader plan`: the dry-run contract of DESIGN.md, as a user would call it."""

import gzip
import json
import re

import pytest
from click.testing import CliRunner

from loader.cli import main


def plan(*args):
    result = CliRunner().invoke(main, ["plan", *map(str, args)])
    return result


def plan_json(*args):
    result = plan(*args, "--json")
    return result, json.loads(result.output)


def test_json_counts_records_rejections_requests_and_bytes(tmp_path):
    # GIVEN 1,200 records keyed by user.id, two of them bad
    lines = [json.dumps({"user": {"id": f"u{i % 7}"}, "n": i}) for i in range(1200)]
    lines[10] = '{"user": {"id": "u1"}'  # malformed
    lines[20] = '{"user": {}}'  # no key
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    # WHEN planned with --json
    result, out = plan_json(path, "--partition-key-field", "user.id")
    # THEN the contract's fields are there and exact
    assert result.exit_code == 0
    assert (out["records"], out["accepted"]) == (1200, 1198)
    assert [(r["seq"], r["line"]) for r in out["rejected"]] == [(10, 11), (20, 21)]
    assert "malformed JSON" in out["rejected"][0]["reason"]
    assert out["rejected"][1]["reason"] == "partition key field 'user.id' is missing"
    good = [line for i, line in enumerate(lines) if i not in (10, 20)]
    assert out["bytes"] == sum(
        len(line.encode()) + len(json.loads(line)["user"]["id"]) for line in good
    )
    assert out["requests"] == 3  # 500 + 500 + 198


def test_request_cap_option_changes_the_packing(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(("y" * 100_000 + "\n") * 30)
    _, default = plan_json(path)
    _, small = plan_json(path, "--max-request-kib", "1024")
    assert default["requests"] == 1 and small["requests"] == 3


def test_record_cap_option_accepts_bigger_records(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text("z" * (2 << 20) + "\n")
    _, default = plan_json(path)
    _, wide = plan_json(path, "--max-record-kib", "4096", "--max-request-kib", "10240")
    assert default["accepted"] == 0 and default["rejected"][0]["line"] == 1
    assert wide["accepted"] == 1


def test_readable_summary_by_default(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3\n")
    result = plan(path)
    assert result.exit_code == 0
    assert (
        re.search(r"records +2 +read", result.output)
        and "seq 1, line 3: row has 1 field" in result.output
    )


def test_corrupt_gzip_fails_with_a_clear_error(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 10000)[:-20])
    result, out = plan_json(path)
    assert result.exit_code == 1
    assert out["error"] == "CorruptInputError" and "truncated" in out["message"]


def test_unknown_format_option_fails_clearly(tmp_path):
    path = tmp_path / "x.dat"
    path.write_text("hello\n")
    result, out = plan_json(path, "--format", "xml")
    assert result.exit_code == 1 and "unknown format 'xml'" in out["message"]


@pytest.mark.parametrize("args", [["--max-record-kib", "100"], ["--partition-key-field", "k"]])
def test_bad_options_are_usage_errors(tmp_path, args):
    path = tmp_path / "x.txt"
    path.write_text("hello\n")
    assert plan(path, *args).exit_code == 2


def test_aggregate_shows_the_packing_into_kpl_records(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps({"k": f"k{i % 50}", "n": i}) + "\n" for i in range(3000)))
    _, plain = plan_json(path, "--partition-key-field", "k")
    _, agg = plan_json(path, "--partition-key-field", "k", "--aggregate", "--shards", "4")
    assert plain["kinesis_records"] == plain["billable_kib_on_demand"] == 3000
    assert (agg["accepted"], agg["bytes"]) == (plain["accepted"], plain["bytes"])
    assert agg["aggregated_records"] == 3000 and agg["aggregates"] == agg["kinesis_records"] == 4
    assert agg["requests"] == 1 and agg["shards"] == 4 and agg["aggregate"] is True
    assert agg["billable_kib_on_demand"] < plain["billable_kib_on_demand"] / 10
    assert agg["kinesis_bytes"] > agg["bytes"]  # the framing and key tables cost a little
    human = plan(path, "--partition-key-field", "k", "--aggregate", "--shards", "4").output
    assert "aggregated: 3,000 records in 4 aggregates" in human


def test_per_key_ordering_plans_a_key_once_per_request(tmp_path):
    path = tmp_path / "hot.jsonl"
    path.write_text(
        "".join(json.dumps({"k": "hot" if i % 2 else f"k{i}"}) + "\n" for i in range(400))
    )
    _, packed = plan_json(path, "--partition-key-field", "k")
    _, ordered = plan_json(path, "--partition-key-field", "k", "--ordering", "per-key")
    assert (packed["requests"], packed["ordering"]) == (1, "none")
    assert (ordered["requests"], ordered["ordering"]) == (200, "per-key")  # one "hot" per request
