"""The process's copies of the applications its officers just saw: bounded, never shared."""
from bson import ObjectId

from models.application import Application, Task
from services.workflow import recent


def application(*task_ids: str, version: int = 1) -> Application:
    return Application(id=ObjectId(), bundle="newborn", bundle_version=1, version=version,
                       tasks=[Task(id=t, matter=t, department="health") for t in task_ids],
                       events=[{"type": "application_received"}])


def test_a_copy_is_found_by_any_of_its_tasks_without_the_fields_loaders_leave_out():
    recent.forget()
    kept = application("a1", "a2", version=3)
    recent.keep(kept)

    copy = recent.holding("a2")

    assert copy.pk == kept.pk and copy.version == 3
    assert [t.id for t in copy.tasks] == ["a1", "a2"]
    assert not copy.events  # as an officer's loader reads it
    copy.tasks[0].status = "claimed"
    assert recent.holding("a1").tasks[0].status != "claimed"  # each use gets its own copy


def test_the_oldest_copies_give_way_beyond_the_bound(monkeypatch):
    recent.forget()
    monkeypatch.setattr(recent, "SIZE", 2)
    first, second, third = application("x"), application("y"), application("z")
    for kept in (first, second, third):
        recent.keep(kept)

    assert recent.holding("x") is None
    assert recent.holding("y").pk == second.pk and recent.holding("z").pk == third.pk
