"""Applications through the API: apply once per Idempotency-Key, read, withdraw, supplement."""
import threading
from datetime import timedelta

import pytest
from pymongo.collection import Collection

from models.application import Application
from tests import workflow_support as ws
from tests.helpers import ApiClient, make_citizen, make_material, make_officer

URL = "/api/v1/applications"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def parent():
    return ws.make_parent()


@pytest.fixture
def as_parent(client, parent) -> ApiClient:
    return client.as_(parent)


def body_for(parent, **changes) -> dict:
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            **changes}
    if "materials" not in body:
        body["materials"] = ws.newborn_materials(parent)
    return body


def apply(as_parent, parent, key="key-1", expect=201, **changes):
    return as_parent.post(URL, json=body_for(parent, **changes),
                          headers={"Idempotency-Key": key}, expect=expect)


def test_applying_answers_201_with_the_tasks_and_where_to_find_it(as_parent, parent):
    response = apply(as_parent, parent)

    body = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert body["status"] == "in_progress" and body["bundle"] == "newborn"
    pending = {t["matter"] for t in body["tasks"] if t["status"] == "pending"}
    assert pending == {"birth_medical_certificate", "vaccination_certificate"}
    assert all(t["due_at"] for t in body["tasks"] if t["status"] == "pending")
    assert body["eta"] and body["subject"]["relation"] == "child"
    assert body["form"]["applicant_id_number"].count("*") == 8


def test_without_an_idempotency_key_nothing_is_created(as_parent, parent):
    response = as_parent.post(URL, json={"bundle": "newborn", "nonsense": True}, expect=428)

    assert response.get_json()["error"] == "idempotency_key_required"
    assert Application.objects.count() == 0


def test_a_retry_replays_the_first_answer_exactly(as_parent, parent, as_officer):
    body = body_for(parent)
    first = as_parent.post(URL, json=body, headers={"Idempotency-Key": "tap"}, expect=201)
    task = first.get_json()["tasks"][0]
    as_officer(task["department"]).post(f"/api/v1/workbench/tasks/{task['id']}/claim",
                                        expect=200)  # the application moves on meanwhile

    again = as_parent.post(URL, json=body, headers={"Idempotency-Key": "tap"})

    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert Application.objects.count() == 1


def test_the_same_key_with_another_body_is_422(as_parent, parent):
    body = body_for(parent)
    as_parent.post(URL, json=body, headers={"Idempotency-Key": "tap"}, expect=201)

    other = as_parent.post(URL, json={**body, "form": ws.newborn_form(newborn_name="Other")},
                           headers={"Idempotency-Key": "tap"}, expect=422)
    assert other.get_json()["error"] == "idempotency_key_reused"
    assert Application.objects.count() == 1


def test_two_concurrent_requests_with_one_key_create_one_application(app, parent):
    body = body_for(parent)
    clients = [ApiClient(app.test_client()).as_(parent) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    answers = [None] * len(clients)

    def tap(i):
        barrier.wait()
        answers[i] = clients[i].post(URL, json=body, headers={"Idempotency-Key": "double-tap"})

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert {a.status_code for a in answers} == {201}
    assert all(a.get_json() == answers[0].get_json() for a in answers)  # the first answer
    assert Application.objects.count() == 1


def test_wrong_answers_are_422_per_field_in_the_users_language(as_parent, parent):
    response = as_parent.post(
        URL, json=body_for(parent, form=ws.newborn_form(newborn_birth_time="25:99",
                                                        birth_weight_grams=None)),
        headers={"Idempotency-Key": "k", "Accept-Language": "zh-CN"}, expect=422)

    errors = response.get_json()["errors"]
    assert errors["form.newborn_birth_time"] == ["出生时间（时:分）格式不正确。"]
    assert errors["form.birth_weight_grams"] == ["请填写出生体重（克）。"]


def test_an_unknown_bundle_is_422_naming_the_bundle(as_parent, parent):
    response = as_parent.post(URL, json={"bundle": "no_such_thing"},
                              headers={"Idempotency-Key": "k"}, expect=422)
    assert "bundle" in response.get_json()["errors"]


def test_only_citizens_apply(client, parent):
    client.post(URL, json=body_for(parent), headers={"Idempotency-Key": "k"}, expect=401)
    client.as_(make_officer("health")).post(URL, json=body_for(parent),
                                            headers={"Idempotency-Key": "k"}, expect=403)


def test_a_citizen_lists_and_reads_their_own_applications_only(as_parent, parent, client):
    mine = apply(as_parent, parent).get_json()
    stranger = client.as_(make_citizen())

    assert [a["id"] for a in as_parent.get(URL, expect=200).get_json()] == [mine["id"]]
    assert stranger.get(URL, expect=200).get_json() == []
    stranger.get(f"{URL}/{mine['id']}", expect=404)
    stranger.get(f"{URL}/{mine['id']}/timeline", expect=404)
    as_parent.get(f"{URL}/not-an-id", expect=404)
    assert as_parent.get(f"{URL}/{mine['id']}", expect=200).get_json()["id"] == mine["id"]


def test_the_timeline_tells_time_role_and_department_in_the_citizens_language(
        as_parent, parent, as_officer):
    application = apply(as_parent, parent).get_json()
    task = next(t for t in application["tasks"] if t["matter"] == "vaccination_certificate")
    officer = as_officer("community_health")
    officer.post(f"/api/v1/workbench/tasks/{task['id']}/claim", expect=200)
    officer.post(f"/api/v1/workbench/tasks/{task['id']}/complete",
                 json={"outputs": ws.outputs_for("vaccination_certificate"),
                       "note": "called the mother to confirm"}, expect=200)

    zh = as_parent.get(f"{URL}/{application['id']}/timeline",
                       headers={"Accept-Language": "zh-CN"}, expect=200).get_json()
    assert [e["type"] for e in zh] == ["application_received", "task_routed", "task_routed",
                                       "task_claimed", "task_completed"]
    done = zh[-1]
    assert done["text"] == "社区卫生服务中心已办结预防接种证办理"
    assert done["actor_role"] == "officer" and done["actor"] == "部门工作人员"
    assert done["department"] == {"code": "community_health", "name": "社区卫生服务中心"}
    assert done["at"] >= zh[0]["at"]
    assert "confirm" not in str(zh) and officer.user.name not in str(zh)
    en = as_parent.get(f"{URL}/{application['id']}/timeline", expect=200).get_json()
    assert en[-1]["text"] == "Community Health Service Centre completed Vaccination certificate"


def test_withdrawing_before_any_completion(as_parent, parent):
    application = apply(as_parent, parent).get_json()

    withdrawn = as_parent.post(f"{URL}/{application['id']}/withdraw", expect=200).get_json()
    assert withdrawn["status"] == "withdrawn"
    assert {t["status"] for t in withdrawn["tasks"]} == {"cancelled"}
    again = as_parent.post(f"{URL}/{application['id']}/withdraw", expect=409)
    assert again.get_json()["error"] == "application_not_withdrawable"


def test_answering_a_supplement_through_the_api(as_parent, parent, as_officer):
    application = apply(as_parent, parent).get_json()
    task = next(t for t in application["tasks"] if t["matter"] == "birth_medical_certificate")
    officer = as_officer("health")
    officer.post(f"/api/v1/workbench/tasks/{task['id']}/claim", expect=200)
    officer.post(f"/api/v1/workbench/tasks/{task['id']}/supplement-request",
                 json={"materials": ["birth_registration_form"], "fields": ["birth_hospital"],
                       "reason": "The form is not stamped"}, expect=200)

    asked = as_parent.get(f"{URL}/{application['id']}", expect=200).get_json()
    assert asked["status"] == "needs_supplement"
    assert asked["supplement"]["materials"] == [{"code": "birth_registration_form",
                                                 "name": "Birth registration service form"}]
    assert asked["supplement"]["fields"][0]["name"] == "birth_hospital"
    assert asked["supplement"]["reasons"][0]["reason"] == "The form is not stamped"
    stamped = make_material(parent, "birth_registration_form")

    answered = as_parent.post(f"{URL}/{application['id']}/supplements",
                              json={"materials": [str(stamped.id)],
                                    "form": {"birth_hospital": "Ruian Maternal and Child"}},
                              expect=200).get_json()
    assert answered["status"] == "in_progress" and answered["supplement"] is None
    assert next(t for t in answered["tasks"] if t["id"] == task["id"])["status"] == "pending"
    assert answered["form"]["birth_hospital"] == "Ruian Maternal and Child"


def test_a_newborn_application_that_names_no_subject_is_about_the_baby(as_parent, parent,
                                                                      client):
    assert client.get("/api/v1/bundles/newborn", expect=200).get_json()["subject"] == "newborn"
    body = body_for(parent)
    del body["subject"]

    application = as_parent.post(URL, json=body, headers={"Idempotency-Key": "no-subject"},
                                 expect=201).get_json()

    assert application["subject"]["relation"] == "child"
    assert application["subject"]["name"] == ws.newborn_form()["newborn_name"]


def test_another_bundle_that_names_no_subject_is_about_the_applicant(client):
    assert client.get("/api/v1/bundles/small_shop_registration",
                      expect=200).get_json()["subject"] == "self"


def test_the_eta_at_submit_tells_the_article_s_story_all_seven_within_the_hour(as_parent,
                                                                               parent):
    """The article: all seven matters in under an hour, the household registration (and the
    baby's ID number) in 15 minutes over the green channel."""
    application = apply(as_parent, parent).get_json()

    submitted = Application.objects.get(id=application["id"]).created_at
    eta = Application.objects.get(id=application["id"]).eta
    assert eta - submitted == timedelta(minutes=55)  # 10 + 15 + 15 + 15 along the longest chain
    bundle = as_parent.get("/api/v1/bundles/newborn", expect=200).get_json()
    promised = {s["matter"]: s["promised"] for s in bundle["steps"]}
    assert promised["newborn_household_registration"] == {"value": 15, "unit": "minutes"}
    assert all(p["unit"] == "minutes" and p["value"] <= 30 for p in promised.values())


def test_an_application_whose_insert_a_driver_retried_answers_201_with_it(as_parent, parent,
                                                                          monkeypatch):
    """A driver that lost an insert's answer sends it again, and the embedded server does not
    recognise the retry: it meets its own first attempt as a duplicate key. Every insert is sent
    twice here, as such a retry would: the citizen still gets 201 and their one application."""
    insert_one = Collection.insert_one

    def retried(self, document, *args, **kwargs):
        insert_one(self, dict(document), *args, **kwargs)
        return insert_one(self, document, *args, **kwargs)

    body = body_for(parent)
    monkeypatch.setattr(Collection, "insert_one", retried)
    answer = as_parent.post(URL, json=body, headers={"Idempotency-Key": "retried"})
    monkeypatch.undo()

    assert answer.status_code == 201, answer.get_json()
    stored = Application.objects.get(applicant=str(parent.id))
    assert answer.get_json()["id"] == str(stored.id)
    again = as_parent.post(URL, json=body, headers={"Idempotency-Key": "retried"}, expect=201)
    assert again.get_json() == answer.get_json()  # the first answer, as the key keeps it
    assert [t["id"] for t in answer.get_json()["tasks"]] == [t.id for t in stored.tasks]
