"""`make soak`'s and the history run's verdicts: what passes and what fails, without a stack."""
import random
from datetime import UTC, datetime

import pytest

from bench import history, history_data, soak

EMPTY = {"applications_open": 0, "outboxes": 0, "deliveries_pending": 0, "sms_standby": 0}


def sample(at: float, **counts) -> dict:
    return {"at": at, **EMPTY, **counts}


def test_the_queues_count_as_drained_only_from_when_they_stay_empty():
    samples = [sample(10, applications_open=3), sample(11), sample(12, outboxes=1),
               sample(14), sample(15)]

    assert soak.first_drained_after(samples, 9)["at"] == 14


def test_a_standby_sms_fallback_does_not_hold_the_drain():
    # It waits ten minutes by design, for a push that may fail: reported, not waited for.
    assert soak.drained(sample(1, sms_standby=4))
    assert not soak.drained(sample(1, deliveries_pending=1))


def passing() -> dict:
    return {
        "minutes": [{"p95_ms": 120.0}, {"p95_ms": 250.0}],
        "drain": {"seconds": 4.0},
        "errors": {"failures": 0, "server_errors": 0},
        "memory": {"growth": soak.memory_growth({
            "warm": {"gunicorn worker 1": 200, "database": 100},
            "end": {"gunicorn worker 1": 210, "database": 180}})},
        "exactly_once": {"met": True, "in_inbox": 10, "notices_expected": 10, "missing": 0,
                         "duplicated": 0, "pushes_duplicated": 0},
    }


def failed(result: dict) -> list[str]:
    return [v["criterion"] for v in soak.verdicts(result) if not v["ok"]]


def test_a_run_within_every_criterion_passes_though_the_database_grew():
    assert failed(passing()) == []


def test_one_slow_minute_fails_the_run():
    result = passing()
    result["minutes"].append({"p95_ms": 301.0})

    assert failed(result) == ["p95 < 300 ms in every minute"]


def test_queues_that_never_drained_fail_the_run():
    result = passing()
    result["drain"] = {"seconds": None}

    assert failed(result) == ["queues drained within 30 s of the load stopping"]


def test_a_worker_growing_by_a_tenth_after_warm_up_fails_the_run():
    result = passing()
    result["memory"]["growth"] = soak.memory_growth({"warm": {"gunicorn worker 2": 200},
                                                     "end": {"gunicorn worker 2": 220}})

    assert failed(result) == ["memory growth < 10 % after warm-up"]


def test_a_duplicated_notification_fails_the_run():
    result = passing()
    result["exactly_once"] = {**result["exactly_once"], "met": False, "duplicated": 1}

    assert failed(result) == [
        "every notification in the inbox exactly once, every push at most once"]


def test_history_growth_over_a_fifth_fails_its_route():
    measured = {route: {"p95_ms": 10.0} for route in history.ROUTES}
    grown = {**measured, "GET /api/v1/workbench/tasks": {"p95_ms": 12.5}}

    rows = history.comparison({"1000": {"routes": measured}, "100000": {"routes": grown}})

    assert [r["route"] for r in rows if not r["met"]] == ["GET /api/v1/workbench/tasks"]


MADE = datetime(2026, 1, 5, 9, tzinfo=UTC)


def template(status: str, task_status: str) -> dict:
    return {
        "_id": "x", "applicant": "a", "region": "330381", "status": status,
        "created_at": MADE, "subject": {"kind": "newborn", "id": "s"},
        "materials": ["m1", "m2"],
        "material_types": {"m1": "parent_id_card", "m2": "household_register"},
        "events": [{"id": "e", "type": "task_completed", "at": MADE, "task": "t2"}],
        "idempotency_key": "a:k", "open_key": "newborn:s", "first_response": {"body": "..."},
        "tasks": [{"id": "t1", "matter": "birth_certificate", "department": "health",
                   "region": "330381", "status": task_status, "elicences": ["l1"]},
                  {"id": "t2", "matter": "hukou", "department": "public_security",
                   "region": "330300", "status": task_status, "completed_at": MADE},
                  {"id": "t3", "matter": "insurance", "department": "medical_insurance",
                   "region": "330000", "status": task_status}],
    }


TEMPLATES = history_data.Templates(submitted=template("in_progress", "pending"),
                                   finished=template("completed", "completed"))


def test_generated_history_is_unique_per_document_and_leaves_the_measured_queue_empty():
    rng, now = random.Random(1), datetime.now(UTC)
    counties = ["330381", "330102", "330302"]
    docs = [history_data.clone(TEMPLATES, rng, now, counties, ["c1", "c2"]) for _ in range(300)]

    assert len({d["_id"] for d in docs}) == 300
    assert len({t["id"] for d in docs for t in d["tasks"]}) == 900
    assert len({d["idempotency_key"] for d in docs}) == 300
    assert not any(t["status"] == "pending" for d in docs for t in d["tasks"])
    for doc in docs:
        county, city, province = (t["region"] for t in doc["tasks"])
        assert county == doc["region"] and city == doc["region"][:4] + "00"
        assert province == "330000"
        assert ("open_key" in doc) == (doc["status"] == "in_progress")
        # Its timeline names its own tasks, at its own time.
        assert doc["events"][0]["task"] == doc["tasks"][1]["id"]
        assert doc["events"][0]["at"] == doc["created_at"] <= now
        if doc["status"] == "completed":
            assert doc["tasks"][1]["completed_at"] == doc["created_at"]
            assert doc["tasks"][0]["elicences"] != ["l1"]
    assert {d["status"] for d in docs} == {"completed", "rejected", "withdrawn", "in_progress"}
    assert TEMPLATES.finished["tasks"][0]["id"] == "t1"  # the templates are never changed


def test_a_share_of_the_capacity_is_taken_from_the_last_bench_run(tmp_path, monkeypatch):
    monkeypatch.setattr(soak, "VAR", tmp_path)
    (tmp_path / "latest.json").write_text('{"capacity": {"births_per_day_at_full_load": 86400}}')

    rate, source = soak.rate_of("80%")

    assert rate == 0.8
    assert "86,400 births a day" in source


def test_a_share_of_the_capacity_without_a_bench_run_says_to_run_it(tmp_path, monkeypatch):
    monkeypatch.setattr(soak, "VAR", tmp_path)

    with pytest.raises(SystemExit, match="run `make bench` first"):
        soak.rate_of("80%")
