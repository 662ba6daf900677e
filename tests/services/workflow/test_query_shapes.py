"""The hot queries select by dotted fields (which their indexes serve), and dotted conditions on
an array may be met by different elements. Each case here is an application whose two tasks
between them meet every condition while neither meets them all: nobody sees or touches it."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.application import Application
from models.material import Material
from services.errors import NotFound
from services.materials import access
from services.workflow import handling, sweeper, workbench
from services.workflow.applications import list_for_citizen, timeline
from tests.helpers import make_citizen, make_family_member, make_material, make_officer

NOW = datetime.now(UTC)
RUIAN, WENZHOU = "330381", "330300"


def task(department: str, status: str, region: str = RUIAN, **fields) -> dict:
    return {"id": uuid.uuid4().hex, "matter": f"{department}_matter", "department": department,
            "region": region, "status": status, "released_at": NOW - timedelta(hours=1),
            **fields}


def application(*tasks, applicant=None, **fields) -> Application:
    return Application(applicant=str((applicant or make_citizen()).id), bundle="newborn",
                       bundle_version=1, tasks=list(tasks), **fields).save()


def test_a_queue_lists_no_task_whose_department_and_status_belong_to_two_tasks():
    health = make_officer("health")
    # A done health task and a pending police task: the dotted filter matches the application.
    application(task("health", "completed"), task("public_security", "pending"))
    theirs = task("health", "pending")
    application(theirs)

    items, total = workbench.list_tasks(officer=health)

    assert [i["id"] for i in items] == [theirs["id"]]
    assert total == 1


def test_a_queue_lists_no_task_whose_region_belongs_to_another_task():
    health = make_officer("health")  # Ruian's
    application(task("health", "pending", region=WENZHOU),
                task("public_security", "pending", region=RUIAN))

    assert workbench.list_tasks(officer=health) == ([], 0)


def test_another_departments_task_of_the_same_application_is_not_found_nor_claimable():
    health = make_officer("health")
    mine, police = task("health", "pending"), task("public_security", "pending")
    application(mine, police)

    with pytest.raises(NotFound):
        workbench.get_task(task_id=police["id"], officer=health)
    with pytest.raises(NotFound):
        handling.claim_task(task_id=police["id"], officer=health)

    stored = Application.objects.get(tasks__id=police["id"])
    assert stored.task(police["id"]).status == "pending"
    assert stored.task(mine["id"]).status == "pending"
    assert workbench.get_task(task_id=mine["id"], officer=health).task(mine["id"]).status == (
        "pending")


def test_a_claim_takes_the_named_task_only_and_its_event_names_its_matter():
    health = make_officer("health")
    first, second = task("health", "pending"), task("health", "pending")
    made = application(first, second)

    handling.claim_task(task_id=second["id"], officer=health)

    stored = Application.objects.get(id=made.id)
    assert stored.task(second["id"]).status == "claimed"
    assert stored.task(first["id"]).status == "pending"
    [claimed] = [e for e in timeline(stored, "en") if e["type"] == "task_claimed"]
    assert claimed["matter"]["code"] == "health_matter"
    assert claimed["task"] == second["id"]


def test_a_material_opens_only_for_a_working_task_that_itself_needs_its_type():
    citizen = make_citizen()
    material = make_material(citizen, "parent_id_card")
    # The health task needs another type; the police task needs this one but is not health's.
    application(task("health", "pending", material_types=["household_register"]),
                task("public_security", "pending", material_types=["parent_id_card"]),
                applicant=citizen, materials=[str(material.id)])

    assert access.officer_task(Material.objects.get(id=material.id), department="health",
                               region=RUIAN) is None
    assert access.officer_task(Material.objects.get(id=material.id),
                               department="public_security", region=RUIAN) is not None


def test_the_sweep_marks_no_task_whose_late_due_time_belongs_to_a_finished_task():
    done = task("health", "completed", due_at=NOW - timedelta(days=2))
    open_ = task("public_security", "pending", due_at=NOW + timedelta(days=2))
    made = application(done, open_)

    assert sweeper.sweep(now=NOW) == 0

    stored = Application.objects.get(id=made.id)
    assert not any(t.overdue for t in stored.tasks)


def test_a_citizen_lists_their_own_and_their_childs_applications_once_each_newest_first():
    parent, other_parent = make_citizen(), make_citizen()
    child = make_family_member(parent, "child", birth_date=(NOW - timedelta(days=30)).date())
    older = application(applicant=parent, subject={"kind": "self", "id": str(parent.id)},
                        created_at=NOW - timedelta(hours=2))
    # Made by the parent about their child: found by both queries, listed once.
    about_child = application(applicant=parent, subject={"kind": "family", "id": str(child.id)},
                              created_at=NOW - timedelta(hours=1))
    application(applicant=other_parent, subject={"kind": "self", "id": str(other_parent.id)})

    listed = list_for_citizen(citizen=parent)

    assert [a.id for a in listed] == [about_child.id, older.id]
    assert list_for_citizen(citizen=parent, status="completed") == []
