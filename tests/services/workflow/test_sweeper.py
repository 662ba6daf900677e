import threading
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection

from models.application import Application
from services.workflow import adapters as department_adapters
from services.workflow import sweeper
from tests.helpers import make_citizen, make_officer

NOW = datetime.now(UTC)


def task(matter="newborn_household_registration", department="public_security", **fields):
    return {"id": uuid.uuid4().hex, "matter": matter, "department": department,
            "region": "330381", "status": "pending", "released_at": NOW - timedelta(hours=1),
            **fields}


def application(*tasks, status="in_progress"):
    return Application(applicant=str(make_citizen().id), bundle="newborn", bundle_version=1,
                       status=status, tasks=list(tasks)).save()


def overdue_events(app):
    return [e for e in Application.objects.get(id=app.id).events if e["type"] == "task_overdue"]


def test_a_pending_task_past_its_due_time_is_marked_recorded_and_its_department_alerted():
    officers = {str(make_officer("public_security").id), str(make_officer("public_security").id)}
    make_officer("health")
    make_officer("public_security", region="330102")  # the same department elsewhere: not told
    late = task(due_at=NOW - timedelta(minutes=1))
    app = application(late)

    assert sweeper.sweep(now=NOW) == 1

    stored = Application.objects.get(id=app.id)
    assert stored.task(late["id"]).overdue is True
    [event] = overdue_events(app)
    assert event["task"] == late["id"]
    assert stored.task(event["task"]).department == "public_security"  # shown from the task
    assert event["actor_role"] == "system"
    alerts = [i for i in stored.outbox if i["type"] == "task_overdue"]
    assert {i["recipient"] for i in alerts} == officers
    assert all(i["task"] == late["id"] and i["application"] == str(app.id) for i in alerts)
    assert stored.outbox_pending is True
    assert stored.version == 2


def test_tasks_not_yet_due_paused_waiting_or_finished_are_left_alone():
    app = application(
        task(due_at=NOW + timedelta(minutes=5)),
        task(status="needs_supplement", due_at=NOW - timedelta(hours=1),
             paused_at=NOW - timedelta(hours=2)),
        task(status="waiting"),
        task(status="completed", due_at=NOW - timedelta(hours=1),
             completed_at=NOW - timedelta(hours=2)),
    )
    application(task(due_at=NOW - timedelta(hours=1)), status="withdrawn")

    assert sweeper.sweep(now=NOW) == 0
    assert overdue_events(app) == []
    assert not any(t.overdue for t in Application.objects.get(id=app.id).tasks)


def test_a_task_is_marked_once_however_often_the_sweep_runs():
    claimed = task(status="claimed", due_at=NOW - timedelta(minutes=3))
    app = application(claimed, task(due_at=NOW + timedelta(hours=1)))

    assert sweeper.sweep(now=NOW) == 1
    assert sweeper.sweep(now=NOW + timedelta(minutes=1)) == 0
    assert len(overdue_events(app)) == 1
    # the other task falls due later and is marked then, on its own
    assert sweeper.sweep(now=NOW + timedelta(hours=2)) == 1
    assert len(overdue_events(app)) == 2


def test_two_sweepers_running_at_once_mark_each_overdue_task_exactly_once():
    make_officer("public_security")
    apps = [application(task(due_at=NOW - timedelta(minutes=n + 1)),
                        task(matter="vaccination_certificate", department="community_health",
                             due_at=NOW - timedelta(minutes=n + 2)))
            for n in range(12)]
    start = threading.Barrier(2)
    counts = []

    def run():
        start.wait()
        counts.append(sweeper.sweep(now=NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 24
    for app in apps:
        events = overdue_events(app)
        assert sorted(e["task"] for e in events) == sorted(t.id for t in app.tasks)
        stored = Application.objects.get(id=app.id)
        assert len([i for i in stored.outbox if i["type"] == "task_overdue"]) == 1
        assert stored.version == 3


def test_the_sweep_command_reports_how_many_tasks_it_marked(app):
    application(task(due_at=NOW - timedelta(minutes=1)), task(due_at=NOW - timedelta(minutes=2)))
    result = app.test_cli_runner().invoke(args=["workflow", "sweep"])
    assert result.exit_code == 0, result.output
    assert "marked 2 overdue task(s)" in result.output


def test_the_accounts_adapters_act_as_are_not_alerted():
    person = str(make_officer("public_security").id)
    department_adapters.account_for("public_security")
    app = application(task(due_at=NOW - timedelta(minutes=1)))

    sweeper.sweep(now=NOW)

    alerts = [i for i in Application.objects.get(id=app.id).outbox if i["type"] == "task_overdue"]
    assert [i["recipient"] for i in alerts] == [person]


def test_an_independent_task_of_a_rejected_application_still_falls_overdue():
    app = application(task(status="rejected"), task(due_at=NOW - timedelta(minutes=1)),
                      status="rejected")

    assert sweeper.sweep(now=NOW) == 1
    assert len(overdue_events(app)) == 1


def test_a_repeated_sweep_reads_only_tasks_that_fell_due_since_its_last_run(monkeypatch):
    for _ in range(30):  # finished long ago: every one keeps its tasks' due times
        application(task(status="completed", due_at=NOW - timedelta(days=3),
                         completed_at=NOW - timedelta(days=3)), status="completed")
    repeated = sweeper.Sweeper()
    assert repeated.run(now=NOW - timedelta(minutes=30)) == 0  # the first run reads everything
    application(task(due_at=NOW - timedelta(minutes=5)))
    filters = []
    find = Collection.find
    monkeypatch.setattr(Collection, "find", lambda self, query, *args, **kwargs: (
        filters.append(query) or find(self, query, *args, **kwargs)))

    assert repeated.run(now=NOW) == 1
    assert repeated.run(now=NOW + timedelta(minutes=1)) == 0

    # What the server is asked to read on the due-time index: the one that fell due in the
    # window, none of the 30 finished ones.
    due = [{"tasks.due_at": query["tasks.due_at"]} for query in filters
           if "tasks.due_at" in query]
    assert [Application._get_collection().count_documents(q) for q in due] == [1, 1]


def test_a_task_already_past_due_when_it_resumes_is_found_by_the_hourly_full_read():
    repeated = sweeper.Sweeper()
    repeated.run(now=NOW - timedelta(hours=3))
    repeated.run(now=NOW - timedelta(minutes=1))
    resumed = task(due_at=NOW - timedelta(hours=2))  # its due time was moved, but not enough
    application(resumed)

    assert repeated.run(now=NOW) == 0  # outside the window
    assert repeated.run(now=NOW + timedelta(hours=1)) == 1
