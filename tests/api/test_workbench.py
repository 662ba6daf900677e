"""The workbench through the API: queues, one task, claim, complete, reject, supplement request."""
import json
from datetime import datetime, timedelta

import pytest

from models.base import utcnow
from services.workflow import submission, sweeper
from tests import workflow_support as ws

TASKS = "/api/v1/workbench/tasks"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def parent():
    return ws.make_parent()


def submit(parent, key="k"):
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key=key)


def task_of(application, matter):
    return application.task_for(matter).id


def test_an_officer_sees_their_departments_queue_only(parent, as_officer):
    submit(parent)
    health, taxation = as_officer("health"), as_officer("taxation")

    queue = health.get(TASKS, expect=200).get_json()
    assert [t["matter"] for t in queue] == ["birth_medical_certificate"]
    assert queue[0]["status"] == "pending" and queue[0]["application"]["bundle"] == "newborn"
    assert taxation.get(TASKS, expect=200).get_json() == []
    waiting = taxation.get(TASKS, query_string={"status": "waiting"}, expect=200).get_json()
    assert [t["matter"] for t in waiting] == ["medical_insurance_payment"]


def test_the_queue_is_paginated_and_filtered_by_bundle(as_officer):
    for n in range(3):
        submit(ws.make_parent(n + 10), key=f"k{n}")
    health = as_officer("health")

    first = health.get(TASKS, query_string={"page_size": 2}, expect=200)
    assert len(first.get_json()) == 2
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    second = health.get(TASKS, query_string={"page_size": 2, "page": 2}, expect=200)
    assert len(second.get_json()) == 1
    assert health.get(TASKS, query_string={"bundle": "school_enrollment"},
                      expect=200).get_json() == []
    assert len(health.get(TASKS, query_string={"bundle": "newborn"}, expect=200).get_json()) == 3


def test_overdue_tasks_can_be_singled_out(parent, as_officer):
    submit(parent)
    submit(ws.make_parent(2), key="other")
    sweeper.sweep(now=utcnow() + timedelta(days=1))  # every pending task is past due by then
    health = as_officer("health")

    assert len(health.get(TASKS, query_string={"overdue": "true"}, expect=200).get_json()) == 2
    assert health.get(TASKS, query_string={"overdue": "false"}, expect=200).get_json() == []


def test_one_task_shows_what_its_matter_needs_and_nothing_of_others(parent, as_officer):
    application = submit(parent)
    police = as_officer("public_security")
    health = as_officer("health")
    birth = task_of(application, "birth_medical_certificate")
    health.post(f"{TASKS}/{birth}/claim", expect=200)
    health.post(f"{TASKS}/{birth}/complete",
                json={"outputs": ws.outputs_for("birth_medical_certificate")}, expect=200)

    task = police.get(f"{TASKS}/{task_of(application, 'newborn_household_registration')}",
                      expect=200).get_json()
    assert task["status"] == "pending"
    assert task["inputs"] == {"birth_certificate_number": "R330381001"}
    form = task["application"]["form"]
    assert form["newborn_ethnicity"] == "Han" and "bank_account" not in form
    assert "*" not in form["applicant_id_number"]  # the police need the number itself
    assert sorted(m["type"] for m in task["application"]["materials"]) == [
        "household_register", "marriage_certificate", "parent_id_card"]
    assert [o["name"] for o in task["output_definitions"]] == ["citizen_id_number"]
    as_officer("taxation").get(f"{TASKS}/{birth}", expect=404)


def test_claiming_is_one_winner_and_the_loser_gets_409(parent, as_officer):
    task = task_of(submit(parent), "birth_medical_certificate")
    first, second = as_officer("health"), as_officer("health")

    claimed = first.post(f"{TASKS}/{task}/claim", expect=200).get_json()
    assert claimed["status"] == "claimed" and claimed["claimed_by_me"]
    lost = second.post(f"{TASKS}/{task}/claim", expect=409).get_json()
    assert lost["error"] == "task_not_claimable"
    assert first.get(TASKS, query_string={"mine": "true"}, expect=200).get_json()[0]["id"] == task
    assert second.get(TASKS, query_string={"mine": "true"}, expect=200).get_json() == []


def test_a_waiting_task_is_409_naming_what_it_waits_for(parent, as_officer):
    task = task_of(submit(parent), "medical_insurance_enrolment")

    body = as_officer("medical_insurance").post(f"{TASKS}/{task}/claim", expect=409).get_json()
    assert body["error"] == "task_not_claimable"
    assert body["message"] == "Task is waiting for: newborn_household_registration"


def test_completing_checks_outputs_then_releases_the_dependents(parent, as_officer):
    application = submit(parent)
    task = task_of(application, "birth_medical_certificate")
    health = as_officer("health")
    health.post(f"{TASKS}/{task}/claim", expect=200)

    bad = health.post(f"{TASKS}/{task}/complete",
                      json={"outputs": {"birth_certificate_number": "12345"}}, expect=422)
    assert "outputs.birth_certificate_number" in bad.get_json()["errors"]
    done = health.post(f"{TASKS}/{task}/complete",
                       json={"outputs": ws.outputs_for("birth_medical_certificate")},
                       expect=200).get_json()
    assert done["status"] == "completed"
    assert [t["matter"] for t in as_officer("public_security").get(TASKS, expect=200)
            .get_json()] == ["newborn_household_registration"]
    # Completed: other outputs are refused (the same request again is a retry: see
    # tests/services/workflow/test_retried_transitions.py).
    health.post(f"{TASKS}/{task}/complete",
                json={"outputs": {"birth_certificate_number": "R330381999"}}, expect=409)


def test_rejecting_tells_the_citizen_why(parent, as_officer, client):
    application = submit(parent)
    task = task_of(application, "birth_medical_certificate")
    health = as_officer("health")
    health.post(f"{TASKS}/{task}/claim", expect=200)
    health.post(f"{TASKS}/{task}/reject", json={}, expect=422)

    health.post(f"{TASKS}/{task}/reject", json={"reason": "Not born in this hospital"},
                expect=200)

    seen = client.as_(parent).get(f"/api/v1/applications/{application.id}",
                                  expect=200).get_json()
    assert seen["status"] == "rejected" and seen["reason"] == "Not born in this hospital"
    rejected = next(t for t in seen["tasks"] if t["id"] == task)
    assert rejected["reason"] == "Not born in this hospital"


def test_a_supplement_request_needs_a_reason_and_known_names(parent, as_officer):
    task = task_of(submit(parent), "vaccination_certificate")
    officer = as_officer("community_health")
    officer.post(f"{TASKS}/{task}/claim", expect=200)

    officer.post(f"{TASKS}/{task}/supplement-request", json={"materials": ["parent_id_card"]},
                 expect=422)
    officer.post(f"{TASKS}/{task}/supplement-request",
                 json={"fields": ["shoe_size"], "reason": "?"}, expect=422)
    asked = officer.post(f"{TASKS}/{task}/supplement-request",
                         json={"materials": ["parent_id_card"], "reason": "Photo is blurred"},
                         expect=200).get_json()
    assert asked["status"] == "needs_supplement" and asked["paused_at"]


def test_citizens_and_clerks_have_no_workbench(parent, as_citizen, as_clerk):
    task = task_of(submit(parent), "birth_medical_certificate")
    as_citizen.get(TASKS, expect=403)
    as_clerk().post(f"{TASKS}/{task}/claim", expect=403)


def test_the_queue_counts_match_what_the_queue_lists_in_each_status(parent, as_officer):
    first = submit(parent)
    submit(ws.make_parent(2), key="other")
    submit(ws.make_parent(3), key="third")
    health = as_officer("health")
    health.post(f"{TASKS}/{task_of(first, 'birth_medical_certificate')}/claim", expect=200)
    sweeper.sweep(now=utcnow() + timedelta(days=1))

    counts = health.get(f"{TASKS}/counts", expect=200).get_json()

    since = datetime.fromisoformat(counts.pop("finished_since"))
    assert timedelta(days=7) <= utcnow() - since < timedelta(days=7, minutes=1)
    assert counts == {"open": 3, "overdue": 3, "by_status": {
        "pending": 2, "claimed": 1, "needs_supplement": 0, "completed": 0, "rejected": 0}}
    for status, n in counts["by_status"].items():
        listed = health.get(TASKS, query_string={"status": status}, expect=200).get_json()
        assert len(listed) == n, status
    assert as_officer("taxation").get(f"{TASKS}/counts", expect=200).get_json()["open"] == 0
    assert health.get(f"{TASKS}/counts", query_string={"bundle": "school_enrollment"},
                      expect=200).get_json()["open"] == 0
