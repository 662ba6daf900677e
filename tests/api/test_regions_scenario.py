"""Province scale, done when: a family in Hangzhou Shangcheng applies for the newborn bundle, only
Shangcheng's officers see and work its tasks, Ruian's get 404 on them exactly as on a task that
does not exist, and the parents' inbox hears from each department as it finishes."""
from datetime import date

import pytest

from notifications import relay
from services.identity import numbers
from tests import workflow_support as ws
from tests.helpers import make_material, make_officer

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"
SHANGCHENG, RUIAN = "330102", "330381"
FATHER_ID = numbers.make_id_number(SHANGCHENG, date(1991, 4, 2), 18, "male")
MOTHER_ID = numbers.make_id_number(SHANGCHENG, date(1993, 8, 9), 27, "female")


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def sign_in(client, phone: str):
    code = client.post("/api/v1/auth/otp", json={"phone": phone},
                       expect=202).get_json()["debug_code"]
    tokens = client.post("/api/v1/auth/login", json={"phone": phone, "code": code},
                         expect=200).get_json()
    return client.with_headers(Authorization=f"Bearer {tokens['access_token']}")


def finished_notifications(citizen) -> list[dict]:
    """The inbox's "a department finished" entries, oldest first, after the relay has run."""
    relay.relay_pending()
    inbox = citizen.get("/api/v1/me/notifications?page_size=100", expect=200).get_json()
    return [n for n in inbox["items"][::-1] if n["type"] == "task_completed"]


def test_a_shangcheng_family_is_served_by_shangcheng_alone_and_hears_from_each_department(
        client):
    father = sign_in(client, "13912340102")
    father.post("/api/v1/me/real-name", json={"name": "Lin Hao", "id_number": FATHER_ID},
                expect=200)
    father.post("/api/v1/me/family", json={"relation": "spouse", "name": "Xu Qing",
                                           "id_number": MOTHER_ID}, expect=201)
    me = father.patch("/api/v1/me", json={"region": SHANGCHENG}, expect=200).get_json()
    assert me["region"] == SHANGCHENG and me["region_name"] == "Shangcheng District"
    father_id = me["id"]
    materials = [str(make_material(father_id, t).id) for t in ws.NEWBORN_MATERIALS]

    # No region in the body: the application is made where the family lives.
    application = father.post(APPLICATIONS, headers={"Idempotency-Key": "shangcheng-birth"},
                              json={"bundle": "newborn", "subject": {"kind": "newborn"},
                                    "form": ws.newborn_form(), "materials": materials},
                              expect=201).get_json()
    assert application["region"] == SHANGCHENG
    assert {t["region"] for t in application["tasks"]} == {SHANGCHENG}  # seven county matters
    tasks = {t["matter"]: t for t in application["tasks"]}
    # Shangcheng's own promise and window (实施清单), not Ruian's.
    assert tasks["birth_medical_certificate"]["promised"] == {"value": 20, "unit": "minutes"}
    assert "Shangcheng" in tasks["newborn_household_registration"]["window"]["address"]
    assert tasks["vaccination_certificate"]["promised"] == {"value": 10, "unit": "minutes"}

    here = {d: client.as_(make_officer(d, region=SHANGCHENG)) for d in ws.NEWBORN_DEPARTMENTS}
    ruian = {d: client.as_(make_officer(d, region=RUIAN)) for d in ws.NEWBORN_DEPARTMENTS}
    missing = ruian["health"].get(f"{TASKS}/{'0' * 32}", expect=404).get_json()

    heard: list[str] = []
    for matter, (department, _) in ws.NEWBORN_STEPS.items():
        task_id = tasks[matter]["id"]
        # Ruian's officer of the same department: not in the queue, and 404 on every route,
        # answered exactly as a task that does not exist.
        assert task_id not in [t["id"] for t in ruian[department].get(
            TASKS, query_string={"status": "pending"}, expect=200).get_json()]
        for method, path, body in (("GET", "", None), ("POST", "/claim", None),
                                   ("POST", "/complete", {"outputs": ws.outputs_for(matter)}),
                                   ("POST", "/reject", {"reason": "not ours"}),
                                   ("POST", "/supplement-request",
                                    {"materials": ["household_register"], "reason": "?"})):
            refused = ruian[department].request(method, f"{TASKS}/{task_id}{path}", json=body,
                                                expect=404).get_json()
            assert refused == missing, (matter, path)

        # Shangcheng's officer finds it in their queue and works it.
        queue = here[department].get(TASKS, query_string={"status": "pending"},
                                     expect=200).get_json()
        assert task_id in [t["id"] for t in queue]
        assert next(t for t in queue if t["id"] == task_id)["region"] == SHANGCHENG
        here[department].post(f"{TASKS}/{task_id}/claim", expect=200)
        done = here[department].post(f"{TASKS}/{task_id}/complete",
                                     json={"outputs": ws.outputs_for(matter)},
                                     expect=200).get_json()

        # The parents hear from this department now: one more "finished", naming it.
        finished = finished_notifications(father)
        assert len(finished) == len(heard) + 1
        assert (finished[-1]["department"], finished[-1]["matter"]) == (department, matter)
        heard.append(department)

    assert done["application"]["status"] == "completed"
    assert set(heard) == set(ws.NEWBORN_DEPARTMENTS)  # six departments, seven matters
    # Ruian's officers never saw any of it.
    for department, officer in ruian.items():
        assert officer.get(TASKS, query_string={"status": "completed"},
                           expect=200).get_json() == [], department
