"""The newborn story of the article, through the API alone: one form, four materials, seven
matters of six departments in dependency order, one supplement, and nothing done twice."""
import io
from collections import Counter
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfWriter

from models.application import Application
from services.identity import numbers
from tests import workflow_support as ws
from tests.helpers import make_officer

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"
FATHER_ID = numbers.make_id_number("330381", date(1990, 6, 1), 12, "male")
MOTHER_ID = numbers.make_id_number("330381", date(1992, 2, 3), 34, "female")


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (seed * 40 % 256, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign_in(client, phone: str):
    code = client.post("/api/v1/auth/otp", json={"phone": phone},
                       expect=202).get_json()["debug_code"]
    tokens = client.post("/api/v1/auth/login", json={"phone": phone, "code": code},
                         expect=200).get_json()
    return client.with_headers(Authorization=f"Bearer {tokens['access_token']}")


def upload(citizen, type_code: str, content: bytes, name: str) -> str:
    response = citizen.post("/api/v1/materials", expect=201,
                            data={"type": type_code, "file": (io.BytesIO(content), name)},
                            content_type="multipart/form-data")
    return response.get_json()["id"]


def statuses(citizen, application_id) -> dict:
    body = citizen.get(f"{APPLICATIONS}/{application_id}", expect=200).get_json()
    return {t["matter"]: t["status"] for t in body["tasks"]}


def test_a_baby_is_born_and_seven_matters_finish_through_one_application(client):
    # The father signs in, verifies his real name and adds the mother; the app knows them now.
    father = sign_in(client, "13812345678")
    father.post("/api/v1/me/real-name", json={"name": "Zhou Lei", "id_number": FATHER_ID},
                expect=200)
    father.post("/api/v1/me/family", json={"relation": "spouse", "name": "Chen Jing",
                                           "id_number": MOTHER_ID}, expect=201)
    # Four materials, uploaded once: real image and PDF bytes.
    materials = [upload(father, "parent_id_card", jpeg(1), "id.jpg"),
                 upload(father, "household_register", jpeg(2), "hukou.jpg"),
                 upload(father, "marriage_certificate", jpeg(3), "marriage.jpg"),
                 upload(father, "birth_registration_form", pdf(), "form.pdf")]
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": materials}

    # One tap (and a nervous second tap): one application.
    first = father.post(APPLICATIONS, json=body, headers={"Idempotency-Key": "birth-2026"},
                        expect=201).get_json()
    replay = father.post(APPLICATIONS, json=body, headers={"Idempotency-Key": "birth-2026"},
                         expect=201).get_json()
    assert replay == first
    application_id = first["id"]
    assert first["form"]["applicant_name"] == "Zhou Lei"  # prefilled, not typed
    assert first["form"]["spouse_name"] == "Chen Jing"
    assert statuses(father, application_id) == {
        "birth_medical_certificate": "pending", "vaccination_certificate": "pending",
        "newborn_household_registration": "waiting", "medical_insurance_enrolment": "waiting",
        "medical_insurance_payment": "waiting", "citizen_card": "waiting",
        "maternity_insurance_benefit": "waiting"}

    officers = {d: client.as_(make_officer(d)) for d in ws.NEWBORN_DEPARTMENTS}

    def task_id(matter):
        department = ws.NEWBORN_STEPS[matter][0]
        queue = officers[department].get(TASKS, query_string={"status": "pending"},
                                         expect=200).get_json()
        return next(t["id"] for t in queue if t["matter"] == matter
                    and t["application"]["id"] == application_id)

    def finish(matter, claim=True):
        officer, task = officers[ws.NEWBORN_STEPS[matter][0]], task_id(matter)
        if claim:
            officer.post(f"{TASKS}/{task}/claim", expect=200)
        return officer.post(f"{TASKS}/{task}/complete",
                            json={"outputs": ws.outputs_for(matter)}, expect=200).get_json()

    # The hospital asks for a stamped birth registration form: only its own task pauses.
    birth = task_id("birth_medical_certificate")
    officers["health"].post(f"{TASKS}/{birth}/claim", expect=200)
    officers["health"].post(f"{TASKS}/{birth}/supplement-request",
                            json={"materials": ["birth_registration_form"],
                                  "reason": "The form needs the hospital's stamp"}, expect=200)
    paused = statuses(father, application_id)
    assert paused["birth_medical_certificate"] == "needs_supplement"
    assert paused["vaccination_certificate"] == "pending"
    finish("vaccination_certificate")  # the community health centre goes on meanwhile
    request = father.get(f"{APPLICATIONS}/{application_id}", expect=200).get_json()["supplement"]
    assert [m["code"] for m in request["materials"]] == ["birth_registration_form"]
    stamped = upload(father, "birth_registration_form", jpeg(9), "stamped.jpg")
    father.post(f"{APPLICATIONS}/{application_id}/supplements",
                json={"materials": [stamped]}, expect=200)

    # Six officers, in dependency order.
    finish("birth_medical_certificate")
    police = finish("newborn_household_registration")
    assert police["outputs"]["citizen_id_number"] == ws.baby_id_number()
    finish("maternity_insurance_benefit")
    enrolment = officers["medical_insurance"].get(
        f"{TASKS}/{task_id('medical_insurance_enrolment')}", expect=200).get_json()
    assert enrolment["inputs"]["citizen_id_number"] == ws.baby_id_number()  # it flowed here
    finish("medical_insurance_enrolment")
    assert {"medical_insurance_payment", "citizen_card"} <= {
        m for m, s in statuses(father, application_id).items() if s == "pending"}
    finish("medical_insurance_payment")
    last = finish("citizen_card")
    assert last["application"]["status"] == "completed"

    done = father.get(f"{APPLICATIONS}/{application_id}", expect=200).get_json()
    assert done["status"] == "completed" and done["completed_at"]
    shown_id = next(t for t in done["tasks"] if t["matter"] == "newborn_household_registration")
    assert shown_id["outputs"]["citizen_id_number"] == "330381********" + ws.baby_id_number()[-4:]

    # The timeline tells the story, in order, in Chinese for a Chinese reader.
    timeline = father.get(f"{APPLICATIONS}/{application_id}/timeline",
                          headers={"Accept-Language": "zh-CN"}, expect=200).get_json()
    texts = [e["text"] for e in timeline]
    assert texts[0] == "已受理“新生儿出生一件事”申请"
    assert ("卫生健康局需要您补正出生医学证明首次签发的材料：The form needs the hospital's stamp"
            in texts)
    assert "公安局已办结新生儿出生户口登记" in texts
    assert texts[-1] == "“新生儿出生一件事”全部事项已办结"
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert {e["department"]["code"] for e in timeline if e["type"] == "task_completed"} == set(
        ws.NEWBORN_DEPARTMENTS)

    # Replays and retries changed nothing twice.
    again = father.post(APPLICATIONS, json=body, headers={"Idempotency-Key": "birth-2026"},
                        expect=201).get_json()
    assert again == first
    retried = officers["hrss"].post(f"{TASKS}/{last['id']}/complete",
                                    json={"outputs": ws.outputs_for("citizen_card")},
                                    expect=200).get_json()
    assert retried["status"] == "completed"  # answered as done, written once (below)
    assert Application.objects.count() == 1
    stored = Application.objects.get(id=application_id)
    counts = Counter((e["type"], e.get("task")) for e in stored.events)
    assert all(counts[("task_completed", t.id)] == 1 for t in stored.tasks)
    assert counts[("application_completed", None)] == 1
    assert len({i["id"] for i in stored.outbox}) == len(stored.outbox)
    # The vault now holds the e-licences the departments issued about the baby.
    vault = father.get("/api/v1/me/materials", expect=200).get_json()
    issued = {m["type"] for m in vault if m["kind"] == "elicence"}
    assert {"birth_medical_certificate", "household_registration_record",
            "citizen_card"} <= issued
