"""How the CLI shows a run in flight."""

from flowforge.cli.follow import describe_run


def test_a_run_in_flight_shows_bytes_as_a_share_and_extracted_rows_as_a_count():
    run = {"run_id": "abcdef1234", "status": "running", "stages": [{"name": "ingest"}]}
    read = describe_run(run | {"progress": {"stage": "ingest", "done": 25, "total": 100,
                                            "unit": "bytes"}})  # fmt: skip
    assert read == "run abcdef12: running (done: nothing yet; ingest 25%)"
    extracted = describe_run(run | {"progress": {"stage": "ingest", "done": 1_250_000,
                                                 "total": None, "unit": "rows"}})  # fmt: skip
    assert extracted.endswith("; ingest 1,250,000 rows)")
