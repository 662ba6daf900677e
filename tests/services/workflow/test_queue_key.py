"""The officers' queues select on one key per task, "department|region|status" (Task.queue; a
finished task's names the day it finished too):
every write that moves a task keeps its key in step, and applications stored before the key get
theirs from the backfill, after which their officers see them again."""
from datetime import UTC, datetime, timedelta

import pytest

from cli.seed import run_seed_steps
from models.application import Application, finished_on, queue_key
from models.connection import database
from services.workflow import backfill, handling, submission, supplements, workbench
from tests import workflow_support as ws
from tests.helpers import make_material, make_officer


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def birth(parent, key="k") -> Application:
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key=key)


def stale_keys(application_id) -> list[str]:
    """The stored tasks whose key is not their department, region and status."""
    stored = Application._get_collection().find_one({"_id": application_id}, {"tasks": 1})
    return [f"{t['matter']}: {t.get('queue')}" for t in stored["tasks"]
            if t.get("queue") != queue_key(t["department"], t.get("region"), t["status"],
                                           finished_on(t))]


def listed(officer, **filters) -> set[str]:
    return {item["id"] for item in workbench.list_tasks(officer=officer, **filters)[0]}


def test_every_transition_keeps_the_tasks_keys_in_step(parent, officers):
    made = birth(parent)
    assert stale_keys(made.pk) == []  # the insert: pending and waiting tasks

    certificate = made.task_for("birth_medical_certificate").id
    handling.claim_task(task_id=certificate, officer=officers["health"])
    assert stale_keys(made.pk) == []
    asked = supplements.request_supplement(task_id=certificate, officer=officers["health"],
                                           materials=["birth_registration_form"],
                                           reason="The form is not stamped")
    assert asked.task(certificate).status == "needs_supplement"
    assert stale_keys(made.pk) == []
    supplements.answer_supplement(
        application_id=str(made.pk), citizen=parent,
        materials=[str(make_material(parent, "birth_registration_form").id)])
    assert stale_keys(made.pk) == []
    handling.claim_task(task_id=certificate, officer=officers["health"])
    done = handling.complete_task(task_id=certificate, officer=officers["health"],
                                  outputs=ws.outputs_for("birth_medical_certificate"))
    assert stale_keys(made.pk) == []  # the completion released the tasks waiting for it

    police = done.task_for("newborn_household_registration")
    assert police.status == "pending"
    handling.claim_task(task_id=police.id, officer=officers["public_security"])
    rejected = handling.reject_task(task_id=police.id, officer=officers["public_security"],
                                    reason="Not the parents' household")
    assert rejected.status == "rejected"
    assert stale_keys(made.pk) == []  # rejected, and the tasks depending on it cancelled


def test_a_withdrawn_application_leaves_every_queue(parent, officers):
    made = birth(parent)
    health = officers["health"]
    assert made.task_for("birth_medical_certificate").id in listed(health)

    submission.withdraw(application_id=str(made.pk), citizen=parent)

    assert stale_keys(made.pk) == []
    assert workbench.list_tasks(officer=health) == ([], 0)
    assert workbench.task_counts(officer=health)["open"] == 0


def test_a_task_moves_from_queue_to_queue_and_counts_follow(parent, officers):
    made = birth(parent)
    health = officers["health"]
    certificate = made.task_for("birth_medical_certificate").id
    waiting = made.task_for("newborn_household_registration").id
    police = officers["public_security"]
    assert listed(health, status="pending") >= {certificate}
    assert waiting not in listed(police)  # waiting for the certificate: in no queue yet

    handling.claim_task(task_id=certificate, officer=health)
    assert certificate in listed(health, status="claimed")
    assert certificate not in listed(health, status="pending")
    handling.complete_task(task_id=certificate, officer=health,
                           outputs=ws.outputs_for("birth_medical_certificate"))

    assert certificate not in listed(health)  # done: off the default queue
    assert certificate in listed(health, status="completed")
    assert workbench.task_counts(officer=health)["by_status"]["completed"] == 1
    # Another department's, another region's officer never sees it, whatever the status.
    for outsider in (police, make_officer("health", region="330300")):
        assert certificate not in listed(outsider, status="completed")


def old_shape(application: Application) -> None:
    """The application as an older version stored it: no task has a queue key (and the copy
    this process keeps of what it wrote is no longer the stored state)."""
    Application._get_collection().update_one(
        {"_id": application.pk},
        {"$unset": {f"tasks.{n}.queue": "" for n in range(len(application.tasks))},
         "$inc": {"version": 1}})


def finish(application: Application, officers) -> None:
    for matter, (department, _) in ws.NEWBORN_STEPS.items():
        task = application.task_for(matter).id
        handling.claim_task(task_id=task, officer=officers[department])
        handling.complete_task(task_id=task, officer=officers[department],
                               outputs=ws.outputs_for(matter))


def test_applications_stored_before_the_key_are_in_their_queues_after_the_release(
        app, parent, officers):
    made = birth(parent)
    other = birth(ws.make_parent(2), key="other")
    done = birth(ws.make_parent(3), key="done")
    health = officers["health"]
    handling.claim_task(task_id=other.task_for("birth_medical_certificate").id, officer=health)
    finish(done, officers)
    for application in (made, other, done):
        old_shape(application)
    assert workbench.list_tasks(officer=health) == ([], 0)  # what the older version stored

    with app.app_context():
        assert "services.workflow.backfill:backfill_queue_keys" in run_seed_steps()

    assert stale_keys(made.pk) == [] and stale_keys(other.pk) == []
    assert listed(health) == {made.task_for("birth_medical_certificate").id,
                              other.task_for("birth_medical_certificate").id}
    counts = workbench.task_counts(officer=health)
    assert counts["by_status"]["pending"] == 1 and counts["by_status"]["claimed"] == 1
    assert backfill.backfill_queue_keys() == 0  # idempotent: nothing left to find
    # The finished one finished within the days the workbench shows: keyed at the release too.
    assert stale_keys(done.pk) == []
    assert counts["by_status"]["completed"] == 1
    assert app.test_cli_runner().invoke(args=["workflow", "sweep"]).exit_code == 0
    assert backfill.StoredTaskKeys().run() == 0


def finished_days_ago(application: Application, matter: str, days: int) -> None:
    """As if the application's task of this matter had been completed `days` ago."""
    stored = Application._get_collection().find_one({"_id": application.pk}, {"tasks": 1})
    place = next(n for n, t in enumerate(stored["tasks"]) if t["matter"] == matter)
    task = stored["tasks"][place]
    task["completed_at"] = datetime.now(UTC) - timedelta(days=days)
    Application._get_collection().update_one({"_id": application.pk}, {"$set": {
        f"tasks.{place}.completed_at": task["completed_at"],
        f"tasks.{place}.queue": queue_key(task["department"], task["region"], task["status"],
                                          finished_on(task))}, "$inc": {"version": 1}})


def test_the_workbench_lists_and_counts_the_tasks_finished_in_its_last_days(app, officers):
    # Every task a department ever finished would make each look at the counts dearer than the
    # last; the workbench shows a week's (WORKBENCH_FINISHED_DAYS) and reads only those days.
    health = officers["health"]
    recent_one, old_one = (birth(ws.make_parent(20 + n), key=f"finished-{n}") for n in range(2))
    for made in (recent_one, old_one):
        certificate = made.task_for("birth_medical_certificate").id
        handling.claim_task(task_id=certificate, officer=health)
        handling.complete_task(task_id=certificate, officer=health,
                               outputs=ws.outputs_for("birth_medical_certificate"))
    finished_days_ago(recent_one, "birth_medical_certificate", 6)
    finished_days_ago(old_one, "birth_medical_certificate", 8)

    assert listed(health, status="completed") == {
        recent_one.task_for("birth_medical_certificate").id}
    counts = workbench.task_counts(officer=health)
    assert counts["by_status"]["completed"] == 1
    assert counts["finished_since"] <= datetime.now(UTC) - timedelta(days=7)

    app.config["WORKBENCH_FINISHED_DAYS"] = 10
    try:
        assert workbench.task_counts(officer=health)["by_status"]["completed"] == 2
    finally:
        app.config["WORKBENCH_FINISHED_DAYS"] = 7


def test_a_finished_task_keyed_without_its_day_is_keyed_again_at_the_release(app, officers):
    done = birth(ws.make_parent(30), key="done")
    finish(done, officers)
    stored = Application._get_collection().find_one({"_id": done.pk}, {"tasks": 1})
    Application._get_collection().update_one({"_id": done.pk}, {"$set": {  # an older version's
        f"tasks.{n}.queue": f"{t['department']}|{t['region']}|{t['status']}"
        for n, t in enumerate(stored["tasks"])}, "$inc": {"version": 1}})
    assert listed(officers["health"], status="completed") == set()

    with app.app_context():
        run_seed_steps()

    assert stale_keys(done.pk) == []
    assert listed(officers["health"], status="completed") == {
        done.task_for("birth_medical_certificate").id}


def test_the_sweeps_key_the_stored_history_a_batch_a_run(parent, officers):
    finished = []
    for n in range(3):
        done = birth(ws.make_parent(10 + n), key=f"done-{n}")
        finish(done, officers)
        old_shape(done)
        finished.append(done.pk)
    stored = backfill.StoredTaskKeys(per_run=2)

    assert stored.run() == 2
    assert sum(stale_keys(pk) == [] for pk in finished) == 2
    assert stored.run() == 1
    assert all(stale_keys(pk) == [] for pk in finished)
    assert stored.run() == 0
    assert workbench.task_counts(officer=officers["health"])["by_status"]["completed"] == 3


def test_finding_what_the_backfill_has_left_to_do_is_an_index_lookup(parent):
    old_shape(birth(parent))
    explained = database().command("explain", {"find": "applications",
                                               "filter": {"tasks.queue": None}})
    plan = explained["queryPlanner"]["winningPlan"]

    assert plan["inputStage"]["stage"] == "IXSCAN"
    assert plan["inputStage"]["indexName"] == "tasks.queue_1"


def test_a_task_stored_without_a_key_gets_it_with_its_first_change(parent, officers):
    made = birth(parent)
    old_shape(made)
    certificate = made.task_for("birth_medical_certificate").id

    handling.claim_task(task_id=certificate, officer=officers["health"])

    assert stale_keys(made.pk) == []  # every task of it, not only the one claimed
