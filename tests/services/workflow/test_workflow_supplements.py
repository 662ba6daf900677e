"""Supplements (补正): one consolidated request, only the asking tasks pause, answering resumes."""
from datetime import timedelta

import pytest

from common.i18n import current_locale
from models.application import Application
from services.errors import InvalidState, ValidationFailed
from services.workflow import handling, submission, supplements
from tests import workflow_support as ws
from tests.helpers import make_material


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()
    current_locale.set("en")


@pytest.fixture
def application(parent):
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key="k")


def claimed(application, officers, matter):
    task = application.task_for(matter)
    handling.claim_task(task_id=task.id, officer=officers[ws.NEWBORN_STEPS[matter][0]])
    return task


def ask(application, officers, matter, **request):
    task = claimed(application, officers, matter)
    return supplements.request_supplement(task_id=task.id,
                                       officer=officers[ws.NEWBORN_STEPS[matter][0]], **request)


def test_a_supplement_request_pauses_only_the_asking_task(application, officers):
    asked = ask(application, officers, "birth_medical_certificate",
                materials=["birth_registration_form"], reason="The form is not stamped")

    task = asked.task_for("birth_medical_certificate")
    assert task.status == "needs_supplement" and task.paused_at is not None
    assert asked.status == "needs_supplement"
    assert asked.task_for("vaccination_certificate").status == "pending"
    # The unaffected department goes on and finishes its matter meanwhile.
    vaccination = claimed(asked, officers, "vaccination_certificate")
    done = handling.complete_task(task_id=vaccination.id, officer=officers["community_health"],
                                  outputs=ws.outputs_for("vaccination_certificate"))
    assert done.task_for("vaccination_certificate").status == "completed"
    assert done.status == "needs_supplement"


def test_open_requests_reach_the_citizen_as_one(application, officers):
    ask(application, officers, "birth_medical_certificate",
        materials=["birth_registration_form"], reason="The form is not stamped")
    both = ask(application, officers, "vaccination_certificate",
               materials=["parent_id_card"], fields=["residence_address"],
               reason="The ID card photo is blurred")

    request = both.supplement
    assert request["materials"] == ["birth_registration_form", "parent_id_card"]
    assert request["fields"] == ["residence_address"]
    assert [r["matter"] for r in request["reasons"]] == ["birth_medical_certificate",
                                                         "vaccination_certificate"]
    # The answer's outbox holds what its own change added; the stored one, both requests.
    stored = Application.objects.get(id=both.id)
    intents = [i for i in stored.outbox if i["type"] == "supplement_requested"]
    assert len(intents) == 2 and intents[0]["data"]["request"] == intents[1]["data"]["request"]
    assert intents[1]["data"]["materials"] == request["materials"]


def test_answering_returns_the_tasks_to_their_queues_and_resumes_their_clocks(
        application, parent, officers):
    asked = ask(application, officers, "birth_medical_certificate",
                materials=["birth_registration_form"], fields=["birth_weight_grams"],
                reason="Weight and stamp missing")
    task = asked.task_for("birth_medical_certificate")
    # Pretend the citizen took an hour to answer.
    Application.objects(id=asked.id).update_one(
        __raw__={"$set": {"tasks.$[t].paused_at": task.paused_at - timedelta(hours=1)}},
        array_filters=[{"t.id": task.id}])
    new_form = make_material(parent, "birth_registration_form")

    answered = supplements.answer_supplement(application_id=str(asked.id), citizen=parent,
                                          materials=[str(new_form.id)],
                                          form={"birth_weight_grams": 3350})

    back = answered.task_for("birth_medical_certificate")
    assert back.status == "pending" and back.paused_at is None and back.claimed_by is None
    assert back.due_at - task.due_at >= timedelta(hours=1) - timedelta(seconds=5)
    assert answered.status == "in_progress" and not answered.supplement
    assert answered.form["birth_weight_grams"] == 3350
    assert str(new_form.id) in answered.materials
    alerts = [i for i in answered.outbox if i["type"] == "task_routed"
              and i["recipient"] == str(officers["health"].id)]
    assert alerts and alerts[0]["data"] == {"reason": "supplement_answered"}


def test_an_answer_must_bring_everything_asked(application, parent, officers):
    asked = ask(application, officers, "birth_medical_certificate",
                materials=["birth_registration_form"], fields=["birth_weight_grams"],
                reason="Weight and stamp missing")

    with pytest.raises(ValidationFailed) as refused:
        supplements.answer_supplement(application_id=str(asked.id), citizen=parent,
                                   materials=[], form={"newborn_name": "Changed"})
    assert set(refused.value.errors) == {"form.birth_weight_grams", "form.newborn_name",
                                         "materials"}
    assert Application.objects.get(id=asked.id).status == "needs_supplement"


def test_nothing_to_answer_is_a_conflict(application, parent):
    with pytest.raises(InvalidState) as refused:
        supplements.answer_supplement(application_id=str(application.id), citizen=parent,
                                   form={"birth_weight_grams": 3000})
    assert refused.value.error == "no_supplement_requested"


def test_an_officer_asks_only_for_what_exists(application, officers):
    task = claimed(application, officers, "birth_medical_certificate")

    with pytest.raises(ValidationFailed) as refused:
        supplements.request_supplement(task_id=task.id, officer=officers["health"],
                                    materials=["no_such_type"], fields=["no_such_field"],
                                    reason="?")
    assert set(refused.value.errors) == {"materials", "fields"}


def test_a_supplement_request_on_an_unclaimed_task_is_refused(application, officers):
    task = application.task_for("birth_medical_certificate")

    with pytest.raises(InvalidState) as refused:
        supplements.request_supplement(task_id=task.id, officer=officers["health"],
                                    materials=["parent_id_card"], reason="blurred")
    assert refused.value.error == "task_not_claimed"


def test_a_matter_still_going_after_a_rejection_can_ask_and_be_answered(
        application, parent, officers):
    birth = claimed(application, officers, "birth_medical_certificate")
    handling.reject_task(task_id=birth.id, officer=officers["health"], reason="Wrong hospital")
    asked = ask(application, officers, "vaccination_certificate",
                fields=["residence_address"], reason="Which district?")
    assert asked.status == "rejected" and asked.supplement["fields"] == ["residence_address"]

    answered = supplements.answer_supplement(application_id=str(asked.id), citizen=parent,
                                          form={"residence_address": "2 Anyang Road"})

    assert answered.status == "rejected" and not answered.supplement
    assert answered.task_for("vaccination_certificate").status == "pending"
