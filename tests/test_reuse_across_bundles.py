"""Given once, reused: after the newborn bundle, kindergarten admission asks for fewer uploads."""
import io
import random
import uuid
from datetime import date, timedelta

import pytest

from models.application import Application, TaskStatus
from models.audit import MaterialAccess
from models.family import FamilyMember
from services.catalogue import seed as catalogue_seed
from services.identity import citizens, family_members, numbers
from services.materials import vault
from services.workflow import adapters as department_adapters
from services.workflow import handling, submission
from tests import material_files as files
from tests.helpers import make_citizen, make_officer

NEWBORN_UPLOADS = {"parent_id_card": files.jpeg, "birth_registration_form": files.pdf,
                   "household_register": files.jpeg, "marriage_certificate": files.pdf}
ISSUED_BY_NEWBORN = {"birth_medical_certificate", "vaccination_certificate",
                     "household_registration_record", "medical_insurance_certificate",
                     "citizen_card"}


@pytest.fixture
def parent(client):
    catalogue_seed.load_catalogue()
    citizen = make_citizen(name="Chen Jing")
    born = date(1992, 5, 17)
    citizens.verify_real_name(user_id=str(citizen.id), name="Chen Jing",
                              id_number=numbers.make_id_number("330381", born, 12, "female"))
    family_members.add_family_member(owner_id=str(citizen.id), relation="spouse", name="Lin Tao",
                               id_number=numbers.make_id_number("330381", date(1990, 3, 2), 31,
                                                                 "male"))
    return citizen


def upload(api, type_code: str, data: bytes) -> str:
    answer = api.post("/api/v1/materials", data={"type": type_code,
                                                 "file": (io.BytesIO(data), "scan", "")},
                      content_type="multipart/form-data", expect=201)
    return answer.get_json()["id"]


def newborn_form(birth: date) -> dict:
    return {
        "newborn_name": "Chen Xiaoyu", "newborn_gender": "female",
        "newborn_birth_date": birth.isoformat(), "newborn_birth_time": "08:30",
        "birth_hospital": "Ruian People's Hospital", "birth_weight_grams": 3300,
        "relation_to_newborn": "mother", "contact_phone": "13812345678",
        "residence_address": "1 Wansong Road, Ruian", "newborn_ethnicity": "Han",
        "household_address": "1 Wansong Road, Ruian", "premium_payment_method": "online_payment",
        "bank_account": "6222020200112233445", "bank_name": "ICBC Ruian",
        "delivery_type": "vaginal",
    }


def work_every_task(application_id) -> Application:
    """Every department claims and finishes its task as soon as it is pending."""
    rng = random.Random(7)
    for _ in range(20):
        application = Application.objects.get(id=application_id)
        pending = [t for t in application.tasks if t.status == TaskStatus.PENDING]
        if not pending:
            return application
        for task in pending:
            officer = department_adapters.account_for(task.department)
            handling.claim_task(task_id=task.id, officer=officer)
            department_adapters.act(task_id=task.id, officer=officer, rng=rng)
    raise AssertionError("tasks did not finish")


def test_a_later_application_for_the_same_child_reuses_what_is_on_file(client, parent):
    api = client.as_(parent)
    given = [upload(api, code, make()) for code, make in NEWBORN_UPLOADS.items()]
    newborn = submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=newborn_form(date.today() - timedelta(days=20)), materials=given,
        idempotency_key=uuid.uuid4().hex)
    newborn = work_every_task(newborn.id)
    assert newborn.status == "completed", [(t.matter, t.status, t.reason) for t in newborn.tasks]
    child_id = newborn.subject["id"]

    vault_listing = api.get("/api/v1/me/materials", expect=200).get_json()
    issued = {m["type"] for m in vault_listing if m["kind"] == "elicence"}
    assert issued >= ISSUED_BY_NEWBORN
    assert all(m["subject"] == child_id for m in vault_listing if m["kind"] == "elicence")

    # Three years on, the child starts kindergarten.
    FamilyMember.objects(id=child_id).update(set__birth_date=date.today() - timedelta(days=3 * 365))
    kindergarten_types = ["household_registration_record", "property_certificate",
                          "vaccination_certificate", "birth_medical_certificate",
                          "parent_id_card"]
    on_file = vault.on_file(owner_id=str(parent.id), types=kindergarten_types,
                            subject_id=child_id)
    assert set(on_file) == set(kindergarten_types) - {"property_certificate"}

    deed = upload(api, "property_certificate", files.pdf(pages=2))
    kindergarten = submission.submit_application(
        applicant_id=str(parent.id), bundle="kindergarten_admission",
        subject={"kind": "family", "id": child_id},
        form={"household_address": "1 Wansong Road, Ruian",
              "residence_address": "1 Wansong Road, Ruian", "residence_type": "owned_home",
              "contact_phone": "13812345678", "preferred_kindergarten": "Ruian No. 1"},
        materials=[deed], idempotency_key=uuid.uuid4().hex)

    # One upload instead of five: the rest came from the vault.
    assert set(kindergarten.material_types.values()) == set(kindergarten_types)
    assert [m for m, code in kindergarten.material_types.items()
            if code not in on_file] == [deed]
    assert on_file["parent_id_card"] == given[0]

    # The police task checking the household may read the record the police issued; the land
    # registry, whose matter does not ask for it, may not.
    record = on_file["household_registration_record"]
    police = client.as_(make_officer("public_security"))
    police.get(f"/api/v1/materials/{record}", expect=200)
    client.as_(make_officer("natural_resources")).get(f"/api/v1/materials/{record}", expect=404)
    task = kindergarten.task_for("household_residence_verification")
    reads = list(MaterialAccess.objects(material=record, task=task.id))
    assert len(reads) == 1 and reads[0].department == "public_security"


def test_an_officer_rejecting_a_material_asks_the_parent_for_a_new_one(client, parent):
    api = client.as_(parent)
    given = {code: upload(api, code, make()) for code, make in NEWBORN_UPLOADS.items()}
    newborn = submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=newborn_form(date.today() - timedelta(days=3)), materials=list(given.values()),
        idempotency_key=uuid.uuid4().hex)
    task = newborn.task_for("birth_medical_certificate")
    officer = make_officer("health")
    hospital = client.as_(officer)
    hospital.post(f"/api/v1/workbench/tasks/{task.id}/claim", expect=200)

    hospital.post(f"/api/v1/workbench/materials/{given['parent_id_card']}/review",
                  json={"decision": "rejected", "reason": "The ID card photo is blurred.",
                        "task": task.id}, expect=200)

    application = Application.objects.get(id=newborn.id)
    assert application.status == "needs_supplement"
    paused = application.task(task.id)
    assert paused.status == "needs_supplement"
    assert paused.supplement["materials"] == ["parent_id_card"]
    assert paused.reason == "The ID card photo is blurred."
    mine = {m["id"]: m for m in api.get("/api/v1/me/materials", expect=200).get_json()}
    assert mine[given["parent_id_card"]]["status"] == "rejected"
    # A rejected material is no longer offered for later applications.
    assert "parent_id_card" not in vault.on_file(owner_id=str(parent.id),
                                                 types=["parent_id_card"])
