"""`flowforge replay`, `release` and `jobs show|wait`: today's immediate answers and the
202 + job answers the gateway is moving to."""

from __future__ import annotations

import httpx
import pytest

REPLAYED = {
    "runs": [{"run_id": "r1", "revision": 2, "verdict": "passed", "quarantined": 1, "valid": 9}]
}
JOB = {
    "id": "job-7",
    "kind": "replay",
    "status": "queued",
    "result": None,
    "error": None,
    "created_at": "2025-05-01T10:00:00+00:00",
    "finished_at": None,
}


def accepted(job: dict) -> httpx.Response:
    return httpx.Response(202, json=job, headers={"location": f"/api/v1/jobs/{job['id']}"})


def test_replay_of_a_whole_dataset_asks_for_all_and_prints_todays_result(cli, gateway):
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", REPLAYED)

    done = cli("replay", "orders")

    assert done.code == 0
    assert gateway.body() == {"all": True}
    assert "r1" in done.out and "passed" in done.out


def test_replay_of_some_runs_names_them(cli, gateway):
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", REPLAYED)

    done = cli("replay", "orders", "--run", "r1", "r2", "--run", "r3", "--json")

    assert gateway.body() == {"run_ids": ["r1", "r2", "r3"]}
    assert done.json() == REPLAYED


def test_replay_answered_with_a_job_prints_the_job_without_waiting(cli, gateway):
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", accepted(JOB))

    human = cli("replay", "orders")
    machine = cli("replay", "orders", "--json")

    assert human.code == 0 and "job-7" in human.out and "jobs wait job-7" in human.err
    assert machine.json() == JOB
    assert not any(r.url.path.startswith("/api/v1/jobs") for r in gateway.requests)


def test_replay_wait_follows_the_job_to_success(cli, gateway):
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", accepted(JOB))
    done_job = {**JOB, "status": "succeeded", "result": REPLAYED, "finished_at": "2025-05-01"}
    gateway.on("GET", "/api/v1/jobs/job-7", {**JOB, "status": "running"}, done_job)

    done = cli("replay", "orders", "--wait", "--json")

    assert done.code == 0
    assert done.json() == done_job


def test_replay_wait_exits_1_when_the_job_failed(cli, gateway):
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", accepted(JOB))
    failed = {**JOB, "status": "failed", "error": "quality did not answer"}
    gateway.on("GET", "/api/v1/jobs/job-7", failed)

    done = cli("replay", "orders", "--wait")

    assert done.code == 1
    assert "quality did not answer" in done.out


def test_a_job_location_on_another_host_is_not_followed_with_the_key(cli, gateway, key):
    elsewhere = httpx.Response(202, json=JOB, headers={"location": "http://evil.test/jobs/1"})
    gateway.on("POST", "/api/v1/datasets/orders/quality/replay", elsewhere)

    done = cli("--api-key", key, "replay", "orders", "--wait")

    assert done.code == 1
    assert "another host" in done.err
    assert all(r.url.host == "127.0.0.1" for r in gateway.requests)


def test_release_sends_the_reason_and_scope(cli, gateway):
    answer = {"released_rows": 2, "released_entries": 2, "not_released": 0, "runs": []}
    gateway.on("POST", "/api/v1/datasets/orders/quarantine/release", answer)

    done = cli(
        "release", "orders", "--reason", "checked by hand", "--run", "r1", "--line", "3", "7"
    )

    assert done.code == 0, done.err
    assert gateway.body() == {"reason": "checked by hand", "run_id": "r1", "lines": [3, 7]}
    assert "released rows" in done.out and "2" in done.out


def test_release_without_a_scope_is_a_usage_error_and_asks_nothing(cli, gateway):
    done = cli("release", "orders", "--reason", "why not")

    assert done.code == 2
    assert "--all" in done.err
    assert gateway.requests == []


def test_release_needs_a_reason(cli, gateway):
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        cli("release", "orders", "--all")
    assert exited.value.code == 2
    assert gateway.requests == []


def test_release_refused_as_a_conflict_exits_6(cli, gateway):
    refusal = gateway.problem(409, "a replay of orders is running")
    gateway.on("POST", "/api/v1/datasets/orders/quarantine/release", refusal)

    done = cli("release", "orders", "--reason", "r", "--all")

    assert done.code == 6
    assert "a replay of orders is running" in done.err
    assert gateway.body() == {"reason": "r", "all": True}


def test_jobs_show_and_wait(cli, gateway):
    finished = {**JOB, "status": "succeeded", "result": {"rows": 3}}
    gateway.on("GET", "/api/v1/jobs/job-7", JOB, finished)

    shown = cli("jobs", "show", "job-7", "--json")
    waited = cli("jobs", "wait", "job-7")

    assert shown.json() == JOB
    assert waited.code == 0 and "succeeded" in waited.out and "rows" in waited.out


def test_jobs_wait_exits_7_past_its_timeout(cli, gateway):
    gateway.on("GET", "/api/v1/jobs/job-7", {**JOB, "status": "running"})

    assert cli("jobs", "wait", "job-7", "--timeout", "0").code == 7
