"""The workflow's rules, driven through its verbs: submit, claim, complete, reject, withdraw."""
import base64
import json
import zlib

import pytest

from common import crypto
from common.i18n import current_locale
from models.application import Application
from models.connection import database
from models.family import FamilyMember
from models.material import Material
from services.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from services.workflow import applications, handling, submission
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_material, make_officer


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()
    current_locale.set("en")


def submit(parent, key="key-1", **changes):
    arguments = {"applicant_id": str(parent.id), "bundle": "newborn",
                 "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
                 "idempotency_key": key, **changes}
    if "materials" not in arguments:
        arguments["materials"] = ws.newborn_materials(parent)
    return submission.submit_application(**arguments)


def statuses(application):
    return {t.matter: t.status for t in application.tasks}


def finish(application, officers, matter):
    department = ws.NEWBORN_STEPS[matter][0]
    task = application.task_for(matter)
    handling.claim_task(task_id=task.id, officer=officers[department])
    return handling.complete_task(task_id=task.id, officer=officers[department],
                                  outputs=ws.outputs_for(matter))


def events_of(application, type_):
    return [e for e in Application.objects.get(id=application.id).events if e["type"] == type_]


# ── Submitting ─────────────────────────────────────────────────────────────────────────────────

def test_a_newborn_application_sends_the_two_independent_matters_out_at_once(parent):
    application = submit(parent)

    assert statuses(application) == {
        "birth_medical_certificate": "pending", "vaccination_certificate": "pending",
        "newborn_household_registration": "waiting", "medical_insurance_enrolment": "waiting",
        "medical_insurance_payment": "waiting", "citizen_card": "waiting",
        "maternity_insurance_benefit": "waiting"}
    pending = [t for t in application.tasks if t.status == "pending"]
    assert all(t.due_at and t.released_at for t in pending)
    assert {application.task(e["task"]).matter for e in events_of(application, "task_routed")} == {
        "birth_medical_certificate", "vaccination_certificate"}
    assert application.bundle_version >= 1 and application.eta is not None
    assert {i["type"] for i in application.outbox} == {"application_received", "task_routed"}
    assert application.outbox_pending


def test_the_newborn_becomes_the_applicants_child_and_the_subject(parent):
    application = submit(parent)

    child = FamilyMember.objects.get(owner=str(parent.id), relation="child")
    assert child.name == "Zhou Xiaoyu" and child.birth_date == ws.birth_date()
    assert {k: v for k, v in application.subject.items() if k != "name"} == {
        "kind": "family", "id": str(child.id), "relation": "child"}
    assert applications.subject_name(application) == "Zhou Xiaoyu"  # at rest, encrypted


def test_what_the_system_knows_is_prefilled_and_personal_numbers_rest_encrypted(parent):
    application = submit(parent)

    raw = database()["applications"].find_one({"_id": application.id})
    assert set(raw["form_protected"]) == {
        "applicant_id_number", "spouse_id_number", "contact_phone", "applicant_name",
        "spouse_name", "newborn_name", "household_address", "residence_address", "bank_account"}
    assert "330381" not in str(raw["form_protected"]) and "1380000" not in str(raw)
    assert parent.name not in str(raw["form"]) and "Spouse" not in str(raw["form"])
    shown = applications.citizen_view(application)["form"]
    assert shown["applicant_name"] == parent.name  # prefilled, and the owner's to see
    assert shown["spouse_name"].startswith("Spouse")
    assert shown["applicant_id_number"].startswith("330381") and "*" in shown[
        "applicant_id_number"]
    assert shown["contact_phone"] == "138****0001"


def test_the_same_key_and_body_returns_the_first_application(parent):
    materials = ws.newborn_materials(parent)
    first = submit(parent, materials=materials)
    again = submit(parent, materials=materials)

    assert again.id == first.id
    assert Application.objects.count() == 1
    assert FamilyMember.objects(relation="child").count() == 1


def test_the_same_key_with_another_body_is_refused(parent):
    materials = ws.newborn_materials(parent)
    submit(parent, materials=materials)

    with pytest.raises(ValidationFailed) as refused:
        submit(parent, materials=materials, form=ws.newborn_form(newborn_name="Another"))
    assert refused.value.error == "idempotency_key_reused"
    assert Application.objects.count() == 1


def test_keys_belong_to_their_caller(parent):
    other = ws.make_parent(2)
    submit(parent, key="same")
    submit(other, key="same")

    assert Application.objects.count() == 2


def test_a_refused_request_leaves_its_key_free_for_the_corrected_one(parent):
    with pytest.raises(ValidationFailed):
        submit(parent, form=ws.newborn_form(birth_weight_grams=None))
    assert Application.objects.count() == 0
    assert FamilyMember.objects(relation="child").count() == 0

    assert submit(parent).status == "in_progress"


def test_a_retry_gets_the_first_application_even_if_a_material_was_rejected_since(parent):
    materials = ws.newborn_materials(parent)
    first = submit(parent, materials=materials)
    Material.objects(id=materials[0]).update_one(set__status="rejected")

    again = submit(parent, materials=materials)

    assert again.id == first.id and Application.objects.count() == 1


def test_the_first_answer_is_kept_with_the_application_for_its_retries(parent):
    materials = ws.newborn_materials(parent)
    first = submit(parent, materials=materials,
                   render=lambda a: {"id": str(a.id), "tasks": len(a.tasks)})

    again = submit(parent, materials=materials, render=lambda a: {"other": "answer"})

    assert applications.first_answer(again) == {"id": str(first.id), "tasks": 7}


def test_a_first_answer_sealed_the_older_way_still_replays(parent):
    materials = ws.newborn_materials(parent)
    first = submit(parent, materials=materials, render=lambda a: {"id": str(a.id)})
    packed = zlib.compress(json.dumps({"id": str(first.id), "kept": "before"}).encode())
    Application.objects(id=first.id).update(set__first_response={
        "sealed_z": crypto.encrypt(base64.b85encode(packed).decode())})

    again = submit(parent, materials=materials, render=lambda a: {"other": "answer"})

    assert applications.first_answer(again) == {"id": str(first.id), "kept": "before"}


@pytest.mark.parametrize("at_station", [False, True])
def test_the_application_is_stored_exactly_as_the_model_would_store_it(parent, at_station):
    extra = ({"channel": "station", "station": "ruian-hospital", "clerk_id": str(parent.id)}
             if at_station else {})
    made = submit(parent, render=lambda a: {"id": str(a.id)}, **extra)

    stored = Application._get_collection().find_one({"_id": made.id})
    as_the_model_writes = Application._from_son(stored).to_mongo().to_dict()
    assert as_the_model_writes == stored
    assert [t.id for t in made.tasks] == [t["id"] for t in stored["tasks"]]
    assert ("station" in stored, "eta" in stored) == (at_station, True)
    waiting = next(t for t in stored["tasks"] if t["status"] == "waiting")
    assert "released_at" not in waiting and waiting["elicences"] == []


def test_each_wrong_answer_is_named_in_the_citizens_language(parent):
    current_locale.set("zh-CN")
    with pytest.raises(ValidationFailed) as refused:
        submit(parent, form=ws.newborn_form(birth_weight_grams=None, bank_account="12ab",
                                            newborn_gender="other", favourite_colour="blue"))

    errors = refused.value.errors
    assert set(errors) == {"form.birth_weight_grams", "form.bank_account",
                           "form.newborn_gender", "form.favourite_colour"}
    assert errors["form.birth_weight_grams"] == ["请填写出生体重（克）。"]
    assert errors["form.favourite_colour"] == ["未知字段。"]
    assert Application.objects.count() == 0
    assert FamilyMember.objects(relation="child").count() == 0


def test_a_citizen_without_a_verified_real_name_cannot_apply(parent):
    # Before, such a citizen typed the ID numbers into the form, anybody's: now they verify.
    stranger = make_citizen(name="Not Verified")
    with pytest.raises(Forbidden) as refused:
        submit(stranger, materials=ws.newborn_materials(stranger),
               form=ws.newborn_form(applicant_id_number=ws.baby_id_number(9)))

    assert refused.value.error == "real_name_required"
    assert not Application.objects(applicant=str(stranger.id))


def test_materials_must_be_the_applicants_and_of_the_checklist(parent):
    others = make_material(make_citizen(), "household_register")
    with pytest.raises(ValidationFailed) as refused:
        submit(parent, materials=[str(others.id)])

    assert any(str(others.id) in m for m in refused.value.errors["materials"])


def test_a_material_type_nowhere_to_be_found_is_asked_for_by_name(parent):
    given = [str(make_material(parent, t).id) for t in ws.NEWBORN_MATERIALS[:3]]
    with pytest.raises(ValidationFailed) as refused:
        submit(parent, materials=given)

    assert refused.value.errors["materials"] == ["Please add: Birth registration service form."]


def test_materials_already_on_file_count_as_given(parent):
    ws.newborn_materials(parent)  # in the vault from an earlier visit
    application = submit(parent, materials=[])

    assert sorted(application.material_types.values()) == sorted(ws.NEWBORN_MATERIALS)


def test_an_existing_child_can_be_chosen_and_is_prefilled(parent):
    child = FamilyMember(owner=str(parent.id), relation="child", name="Elder",
                         birth_date=ws.birth_date(), gender="male").save()
    form = ws.newborn_form(newborn_name=None, newborn_gender=None, newborn_birth_date=None)
    application = submit(parent, subject={"kind": "family", "id": str(child.id)}, form=form)

    assert crypto.decrypt(application.form_protected["newborn_name"]) == "Elder"  # encrypted
    assert application.form["newborn_gender"] == "male"


def test_someone_elses_family_member_is_no_subject(parent):
    stranger_child = FamilyMember(owner=str(make_citizen().id), relation="child", name="X",
                                  birth_date=ws.birth_date()).save()
    with pytest.raises(ValidationFailed) as refused:
        submit(parent, subject={"kind": "family", "id": str(stranger_child.id)})
    assert "subject" in refused.value.errors


# ── Claiming and completing ────────────────────────────────────────────────────────────────────

def test_a_waiting_task_cannot_be_claimed_and_says_what_it_waits_for(parent, officers):
    application = submit(parent)
    task = application.task_for("newborn_household_registration")

    with pytest.raises(InvalidState) as refused:
        handling.claim_task(task_id=task.id, officer=officers["public_security"])
    assert refused.value.error == "task_not_claimable"
    assert refused.value.en == "Task is waiting for: birth_medical_certificate"
    with pytest.raises(InvalidState) as refused:
        handling.complete_task(task_id=task.id, officer=officers["public_security"],
                               outputs=ws.outputs_for("newborn_household_registration"))
    assert "birth_medical_certificate" in refused.value.en


def test_another_departments_task_is_not_found(parent, officers):
    task = submit(parent).task_for("birth_medical_certificate")

    with pytest.raises(NotFound):
        handling.claim_task(task_id=task.id, officer=officers["taxation"])


def test_a_claimed_task_cannot_be_claimed_again_nor_completed_by_another(parent, officers):
    task = submit(parent).task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=officers["health"])
    colleague = make_officer("health")

    with pytest.raises(InvalidState) as refused:
        handling.claim_task(task_id=task.id, officer=colleague)
    assert refused.value.error == "task_not_claimable"
    with pytest.raises(InvalidState) as refused:
        handling.complete_task(task_id=task.id, officer=colleague,
                               outputs=ws.outputs_for("birth_medical_certificate"))
    assert refused.value.error == "task_not_claimed"


def test_outputs_are_checked_against_the_matters_definition(parent, officers):
    application = finish(submit(parent), officers, "birth_medical_certificate")
    task = application.task_for("newborn_household_registration")
    handling.claim_task(task_id=task.id, officer=officers["public_security"])

    for outputs, error in [({}, "outputs.citizen_id_number"),
                           ({"citizen_id_number": "330381202611270000"},
                            "outputs.citizen_id_number"),
                           ({"citizen_id_number": ws.baby_id_number(), "extra": "1"},
                            "outputs.extra")]:
        with pytest.raises(ValidationFailed) as refused:
            handling.complete_task(task_id=task.id, officer=officers["public_security"],
                                   outputs=outputs)
        assert error in refused.value.errors
    assert Application.objects.get(id=application.id).task(task.id).status == "claimed"


def test_completing_a_task_releases_the_dependents_whose_dependencies_are_all_done(
        parent, officers):
    application = finish(submit(parent), officers, "birth_medical_certificate")

    assert statuses(application)["newborn_household_registration"] == "pending"
    assert statuses(application)["maternity_insurance_benefit"] == "pending"
    assert statuses(application)["medical_insurance_enrolment"] == "waiting"
    released = application.task_for("newborn_household_registration")
    assert released.inputs == {"birth_certificate_number": "R330381001"}
    assert released.due_at is not None


def test_the_newborns_id_number_flows_to_medical_insurance_and_completes_the_application(
        parent, officers):
    application = submit(parent)
    for matter in ws.NEWBORN_STEPS:
        application = finish(application, officers, matter)

    assert application.status == "completed" and application.completed_at
    enrolment = application.task_for("medical_insurance_enrolment")
    assert applications.reveal(enrolment.inputs["citizen_id_number"]) == ws.baby_id_number()
    for matter in ("medical_insurance_payment", "citizen_card"):
        assert set(application.task_for(matter).inputs) == {"citizen_id_number",
                                                            "medical_insurance_number"}
    assert len(events_of(application, "application_completed")) == 1
    # The answer's outbox holds what its own change added; the stored one, all of them.
    stored = Application.objects.get(id=application.id)
    assert [i["type"] for i in stored.outbox].count("task_completed") == 7


def test_completion_issues_elicences_and_records_the_childs_id_number(parent, officers):
    application = submit(parent)
    for matter in list(ws.NEWBORN_STEPS)[:3]:
        application = finish(application, officers, matter)

    licences = Material.objects(owner=str(parent.id), kind="elicence")
    assert sorted(m.type for m in licences) == ["birth_medical_certificate",
                                                "household_registration_record",
                                                "vaccination_certificate"]
    assert all(m.subject == application.subject["id"] for m in licences)
    assert application.task_for("birth_medical_certificate").elicences
    child = FamilyMember.objects.get(id=application.subject["id"])
    assert child.id_number_index


def test_the_citizen_never_sees_the_officer_or_the_note(parent, officers):
    application = submit(parent)
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=officers["health"])
    handling.complete_task(task_id=task.id, officer=officers["health"],
                           outputs=ws.outputs_for("birth_medical_certificate"),
                           note="Mother's records checked by Dr Wang")

    stored = Application.objects.get(id=application.id)
    shown = str(applications.citizen_view(stored)) + str(applications.timeline(stored))
    assert "Dr Wang" not in shown and str(officers["health"].id) not in shown
    assert stored.task(task.id).note == "Mother's records checked by Dr Wang"


# ── Rejecting ──────────────────────────────────────────────────────────────────────────────────

def test_a_rejection_rejects_the_application_and_cancels_what_can_no_longer_happen(
        parent, officers):
    application = finish(submit(parent), officers, "birth_medical_certificate")
    task = application.task_for("newborn_household_registration")
    handling.claim_task(task_id=task.id, officer=officers["public_security"])
    application = handling.reject_task(task_id=task.id, officer=officers["public_security"],
                                       reason="The household register is not Ruian's")

    assert application.status == "rejected"
    assert application.reason == "The household register is not Ruian's"
    after = statuses(application)
    assert after["newborn_household_registration"] == "rejected"
    assert {after[m] for m in ("medical_insurance_enrolment", "medical_insurance_payment",
                               "citizen_card")} == {"cancelled"}
    assert after["vaccination_certificate"] == "pending"  # does not depend on it
    assert after["maternity_insurance_benefit"] == "pending"
    told = [i for i in application.outbox if i["type"] == "application_rejected"
            and i["recipient"] == str(parent.id)]
    assert told[0]["data"] == {"reason": "The household register is not Ruian's"}


# ── Withdrawing ────────────────────────────────────────────────────────────────────────────────

def test_withdrawing_cancels_every_task_and_tells_the_departments(parent, officers):
    application = submit(parent)
    claimed = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=claimed.id, officer=officers["health"])

    application = submission.withdraw(application_id=str(application.id), citizen=parent)

    assert application.status == "withdrawn"
    assert set(statuses(application).values()) == {"cancelled"}
    alerts = {(i["recipient"], i["department"]) for i in application.outbox
              if i["type"] == "application_withdrawn" and i["department"]}
    assert alerts == {(str(officers["health"].id), "health"),
                      (str(officers["community_health"].id), "community_health")}


def test_nothing_can_be_withdrawn_once_a_department_completed_a_matter(parent, officers):
    application = finish(submit(parent), officers, "vaccination_certificate")

    with pytest.raises(InvalidState) as refused:
        submission.withdraw(application_id=str(application.id), citizen=parent)
    assert refused.value.error == "application_not_withdrawable"


def test_only_the_applicant_may_withdraw(parent):
    application = submit(parent)

    with pytest.raises(NotFound):
        submission.withdraw(application_id=str(application.id), citizen=make_citizen())


def test_the_other_parent_may_see_the_childs_application_but_not_act_on_it(parent, officers):
    application = submit(parent)
    for matter in list(ws.NEWBORN_STEPS)[:3]:  # the baby has an ID number now
        application = finish(application, officers, matter)
    other_parent = ws.make_parent(3)
    # Their entry of the baby, linked to the applicant's with a guardian's yes
    # (services/identity/family_links.py): an equal ID number alone shares nothing.
    FamilyMember(owner=str(other_parent.id), relation="child", name="Zhou Xiaoyu",
                 birth_date=ws.birth_date(), linked_owners=[str(parent.id)],
                 id_number_index=FamilyMember.objects.get(
                     id=application.subject["id"]).id_number_index).save()

    seen = applications.get_for_citizen(application_id=str(application.id), citizen=other_parent)
    assert seen.id == application.id
    assert [a.id for a in applications.list_for_citizen(citizen=other_parent)] == [
        application.id]
    with pytest.raises(Forbidden):
        submission.withdraw(application_id=str(application.id), citizen=other_parent)


def test_a_retried_completion_puts_back_an_elicence_its_first_attempt_did_not_issue(
        parent, officers):
    application = finish(submit(parent), officers, "birth_medical_certificate")
    Material.objects(kind="elicence").delete()  # as if the process died right after the write
    task = application.task_for("birth_medical_certificate")

    again = handling.complete_task(task_id=task.id, officer=officers["health"],
                                   outputs=ws.outputs_for("birth_medical_certificate"))

    assert again.task(task.id).status == "completed"  # the same request again: done, not 409
    assert Material.objects.get(kind="elicence").type == "birth_medical_certificate"
    assert len(events_of(application, "task_completed")) == 1


def test_a_request_that_died_after_adding_the_newborn_is_retried_with_one_child(
        parent, monkeypatch):
    materials = ws.newborn_materials(parent)
    collection_class = type(Application._get_collection())
    insert_one = collection_class.insert_one

    def dies(collection, document, *args, **kwargs):
        if collection.name == "applications":
            raise ConnectionError("the process died before the application was written")
        return insert_one(collection, document, *args, **kwargs)

    monkeypatch.setattr(collection_class, "insert_one", dies)
    with pytest.raises(ConnectionError):
        submit(parent, key="crashed", materials=materials)
    monkeypatch.undo()
    assert FamilyMember.objects(relation="child").count() == 1

    application = submit(parent, key="crashed", materials=materials)

    child = FamilyMember.objects.get(relation="child")
    assert application.subject["id"] == str(child.id)
    assert submit(parent, key="crashed", materials=materials).id == application.id
    assert Application.objects.count() == 1


def test_an_application_made_at_a_station_says_so_on_the_timeline(parent):
    clerk = make_citizen()  # any user id will do for the record
    application = submit(parent, channel="station", station="ruian-hospital",
                         clerk_id=str(clerk.id))

    first = applications.timeline(application, "en")[0]
    assert first["actor_role"] == "clerk"
    assert first["text"] == ("Application for A baby is born made for you at service station "
                             "ruian-hospital")
    assert application.applicant == str(parent.id)


def test_a_rejected_application_stays_rejected_while_independent_matters_finish(
        parent, officers):
    application = submit(parent)
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=officers["health"])
    handling.reject_task(task_id=task.id, officer=officers["health"], reason="Wrong hospital")

    application = finish(Application.objects.get(id=application.id), officers,
                         "vaccination_certificate")

    assert application.status == "rejected"
    assert set(statuses(application).values()) == {"rejected", "completed", "cancelled"}
    assert not events_of(application, "application_completed")


def test_the_same_key_naming_another_baby_adds_no_second_child(parent):
    materials = ws.newborn_materials(parent)
    first = submit(parent, key="twins", materials=materials)

    with pytest.raises(ValidationFailed) as refused:
        submit(parent, key="twins", materials=materials,
               form=ws.newborn_form(newborn_name="Zhou Xiaoyun"))

    assert refused.value.error == "idempotency_key_reused"
    assert [c.name for c in FamilyMember.objects(relation="child")] == [
        applications.subject_name(first)]
