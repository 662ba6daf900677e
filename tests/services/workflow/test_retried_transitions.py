"""A driver retry of an officer's transition: its first attempt landed, its answer was lost.

The embedded server does not recognise a write the driver sends again, so the retry of a
conditional update meets the state its own first attempt made and matches nothing. Here every
update of an application is sent twice, as such a retry would be, and the second one's result is
what the code sees: the officer who did succeed must hear so (not 409), the citizen must be told
once, and another officer must still be refused."""
from collections import Counter

import pytest
from pymongo.collection import Collection

from common.i18n import current_locale
from models.application import Application
from services.errors import InvalidState
from services.workflow import handling, recent, submission, supplements
from tests import workflow_support as ws
from tests.helpers import make_officer

MATTER = "birth_medical_certificate"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()
    current_locale.set("en")
    recent.forget()


@pytest.fixture
def application(parent):
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key="k")


@pytest.fixture
def retried(monkeypatch):
    """From when it is called, every update of an application is sent a second time right after
    the first, and the code sees the second's result; returns how many were sent twice."""
    update_one = Collection.update_one
    sent: list[int] = []

    def twice(self, query, update, *args, **kwargs):
        if self.name != "applications":
            return update_one(self, query, update, *args, **kwargs)
        update_one(self, query, update, *args, **kwargs)
        sent.append(1)
        return update_one(self, query, update, *args, **kwargs)

    def start() -> list[int]:
        monkeypatch.setattr(Collection, "update_one", twice)
        return sent
    return start


def told(application_id, kind: str, task_id: str) -> tuple[int, int]:
    """How many timeline events and notification intents of this kind the task has."""
    stored = Application.objects.get(id=application_id)
    events = Counter((e["type"], e.get("task")) for e in stored.events)
    intents = Counter((i["type"], i.get("task")) for i in stored.outbox)
    return events[(kind, task_id)], intents[(kind, task_id)]


def test_a_retried_claim_is_answered_as_claimed_by_its_officer(application, officers, retried):
    task = application.task_for(MATTER)
    sent = retried()

    answer = handling.claim_task(task_id=task.id, officer=officers["health"])

    assert sent  # the write was sent twice
    assert answer.task(task.id).status == "claimed"
    assert answer.task(task.id).claimed_by == str(officers["health"].id)
    assert told(application.id, "task_claimed", task.id)[0] == 1
    with pytest.raises(InvalidState) as refused:
        handling.claim_task(task_id=task.id, officer=make_officer("health"))
    assert refused.value.error == "task_not_claimable"


def test_a_retried_completion_is_answered_as_done_and_told_once(application, officers,
                                                                 retried):
    task = application.task_for(MATTER)
    handling.claim_task(task_id=task.id, officer=officers["health"])
    sent = retried()

    answer = handling.complete_task(task_id=task.id, officer=officers["health"],
                                    outputs=ws.outputs_for(MATTER))

    assert sent
    assert answer.task(task.id).status == "completed"
    assert answer.task_for("newborn_household_registration").status == "pending"
    assert told(application.id, "task_completed", task.id) == (1, 1)
    released = answer.task_for("newborn_household_registration").id
    assert told(application.id, "task_routed", released) == (1, 1)


def test_a_completion_sent_again_with_other_outputs_or_by_another_officer_is_refused(
        application, officers, retried):
    task = application.task_for(MATTER)
    handling.claim_task(task_id=task.id, officer=officers["health"])
    retried()
    handling.complete_task(task_id=task.id, officer=officers["health"],
                           outputs=ws.outputs_for(MATTER))

    with pytest.raises(InvalidState) as other_outputs:
        handling.complete_task(task_id=task.id, officer=officers["health"],
                               outputs={"birth_certificate_number": "R330381999"})
    with pytest.raises(InvalidState) as colleague:
        handling.complete_task(task_id=task.id, officer=make_officer("health"),
                               outputs=ws.outputs_for(MATTER))

    assert other_outputs.value.error == colleague.value.error == "task_not_open"
    assert told(application.id, "task_completed", task.id) == (1, 1)


def test_a_retried_rejection_is_answered_as_rejected_and_told_once(application, officers,
                                                                   retried):
    task = application.task_for(MATTER)
    handling.claim_task(task_id=task.id, officer=officers["health"])
    sent = retried()

    answer = handling.reject_task(task_id=task.id, officer=officers["health"],
                                  reason="Not born in this hospital")

    assert sent
    assert answer.task(task.id).status == "rejected" and answer.status == "rejected"
    assert told(application.id, "task_rejected", task.id)[0] == 1
    stored = Application.objects.get(id=application.id)
    assert [i["type"] for i in stored.outbox].count("application_rejected") == 1
    with pytest.raises(InvalidState):
        handling.reject_task(task_id=task.id, officer=make_officer("health"),
                             reason="Not born in this hospital")


def test_a_retried_supplement_request_asks_the_citizen_once(application, officers, retried):
    task = application.task_for(MATTER)
    handling.claim_task(task_id=task.id, officer=officers["health"])
    sent = retried()

    answer = supplements.request_supplement(
        task_id=task.id, officer=officers["health"], materials=["birth_registration_form"],
        reason="The form is not stamped")

    assert sent
    assert answer.task(task.id).status == "needs_supplement"
    assert answer.status == "needs_supplement"
    assert told(application.id, "supplement_requested", task.id) == (1, 1)
    with pytest.raises(InvalidState) as colleague:
        supplements.request_supplement(
            task_id=task.id, officer=make_officer("health"),
            materials=["birth_registration_form"], reason="The form is not stamped")
    assert colleague.value.error == "task_not_open"
