"""The side-by-side comparison behind `make bench`: both sides really send the file, in both set-ups."""

from bench import compare_bench


def test_both_sides_send_every_record_through_a_moto_server_and_in_process(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "us-east-1")  # restored after; the comparison sets its own
    result = compare_bench.run(tmp_path, records=600)
    for setup in ("server", "in_process"):
        ours, base = result[setup]["ours"], result[setup]["baseline"]
        assert ours["outcomes"] == ["completed"] * compare_bench.OURS_RUNS
        assert ours["sent"] == base["sent"] == result["records"] == 600
        assert (ours["put_records_calls"], base["put_records_calls"]) == (2, 2)
        # one item per record plus a job read-modify-write per batch, against a handful of ours
        assert base["ddb_writes"] == 600 + 1 + 2 and ours["ddb_writes"] < 20
    assert result["requests_over_lower_bound"] == 1.0
    assert result["throughput_ratio_vs_baseline"] == result["server"]["ratio"] > 0
