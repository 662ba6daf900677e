"""Concurrency is decided by the database: many officers, threads and processes, one outcome."""
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from flask import current_app

from common.i18n import current_locale
from models.application import Application
from models.family import FamilyMember
from services.errors import InvalidState
from services.workflow import applications, handling, submission
from tests import workflow_support as ws
from tests.helpers import make_officer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()
    current_locale.set("en")


@pytest.fixture
def application(parent):
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key="k")


def in_threads(count: int, work) -> list:
    """Run work(i) on `count` threads that start together; returns results or exceptions."""
    app = current_app._get_current_object()
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            current_locale.set("en")
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as exc:  # the losers' refusals are part of the outcome
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def assert_told_once_per_change(application_id) -> Application:
    """Every task completed once: one claim, one completion, one routing each; no duplicates."""
    stored = Application.objects.get(id=application_id)
    assert stored.status == "completed"
    assert {t.status for t in stored.tasks} == {"completed"}
    events = Counter((e["type"], e.get("task")) for e in stored.events)
    for task in stored.tasks:
        assert events[("task_claimed", task.id)] == 1
        assert events[("task_completed", task.id)] == 1
        assert events[("task_routed", task.id)] == 1
    assert events[("application_completed", None)] == 1
    intents = Counter((i["type"], i.get("task")) for i in stored.outbox)
    assert all(intents[("task_completed", t.id)] == 1 for t in stored.tasks)
    assert intents[("application_completed", None)] == 1
    assert len({e["id"] for e in stored.events}) == len(stored.events)
    assert len({i["id"] for i in stored.outbox}) == len(stored.outbox)
    # No lost update: what each completion handed on is still there.
    enrolment = stored.task_for("medical_insurance_enrolment")
    assert applications.reveal(enrolment.inputs["citizen_id_number"]) == ws.baby_id_number()
    return stored


def test_many_officers_claiming_one_task_leave_one_winner(application):
    task = application.task_for("birth_medical_certificate")
    officers = [make_officer("health") for _ in range(12)]

    results = in_threads(12, lambda i: handling.claim_task(task_id=task.id, officer=officers[i]))

    winners = [r for r in results if isinstance(r, Application)]
    losers = [r for r in results if isinstance(r, InvalidState)]
    assert len(winners) == 1 and len(losers) == 11
    assert {r.error for r in losers} == {"task_not_claimable"}
    stored = Application.objects.get(id=application.id)
    assert stored.task(task.id).claimed_by == str(winners[0].task(task.id).claimed_by)
    assert [e["type"] for e in stored.events].count("task_claimed") == 1


def test_one_task_completed_from_many_threads_at_once_is_completed_once(application):
    """One officer's same completion sent eight times at once (a retrying client): written
    once, and each is answered with the completed task."""
    task = application.task_for("birth_medical_certificate")
    officer = make_officer("health")
    handling.claim_task(task_id=task.id, officer=officer)
    outputs = ws.outputs_for("birth_medical_certificate")

    results = in_threads(8, lambda i: handling.complete_task(task_id=task.id, officer=officer,
                                                             outputs=outputs))

    assert all(isinstance(r, Application) for r in results), results
    assert {r.task(task.id).status for r in results} == {"completed"}
    stored = Application.objects.get(id=application.id)
    assert [e["type"] for e in stored.events].count("task_completed") == 1
    routed = [stored.task(e["task"]).matter for e in stored.events if e["type"] == "task_routed"]
    assert routed.count("newborn_household_registration") == 1


def test_officers_racing_on_threads_finish_the_application_exactly_once(application):
    officers = [make_officer(d) for d in ws.NEWBORN_DEPARTMENTS for _ in range(3)]

    results = in_threads(len(officers),
                         lambda i: ws.work_the_queue(str(application.id), officers[i]))

    assert not [r for r in results if isinstance(r, Exception)]
    claimed = [t for r in results for t in r["claimed"]]
    assert sorted(claimed) == sorted(t.id for t in application.tasks)  # one winner per task
    assert_told_once_per_change(application.id)


def test_two_processes_racing_on_one_application_finish_it_exactly_once(application, tmp_path):
    process_officers = [[str(make_officer(d).id) for d in ws.NEWBORN_DEPARTMENTS for _ in
                         range(2)] for _ in range(2)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "ERROR"}
    processes = [subprocess.Popen(
        [sys.executable, "-c", "import sys, json; from tests.workflow_support import "
         "race_worker; race_worker(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], 2)",
         str(application.id), json.dumps(officers), str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for officers in process_officers]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))

    claimed = [t for outcome in outcomes for t in outcome["claimed"]]
    assert sorted(claimed) == sorted(t.id for t in application.tasks)
    assert_told_once_per_change(application.id)


def test_concurrent_submissions_with_one_key_create_one_application(parent):
    materials = ws.newborn_materials(parent)

    results = in_threads(8, lambda i: submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=materials, idempotency_key="double-tap"))

    assert all(isinstance(r, Application) for r in results), results
    assert len({r.id for r in results}) == 1
    assert Application.objects.count() == 1
    assert FamilyMember.objects(relation="child").count() == 1  # the baby is added once
