"""Writes a driver retries (retryWrites), which the embedded server does not deduplicate: a
request whose write is sent twice answers as its first attempt did, and its effect is there once.
Each test fails without its fix (a 409, 401, 404 or 500 to a request that had succeeded)."""
from datetime import date

import pytest

from assistant import knowledge
from models.application import Application
from models.conversation import Conversation
from models.handoff import Handoff
from models.rating import Rating
from models.refresh_token import RefreshToken
from services.desk import conversations as desk
from services.desk import handoffs
from services.errors import InvalidState
from services.identity import numbers
from services.workflow import handling, supplements
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.assistant.conversation_support import say
from tests.helpers import make_agent, make_citizen, make_material, make_officer
from tests.retried_writes import sent_twice

ID_NUMBER = numbers.make_id_number("330381", date(1990, 3, 7), 11, "male")


@pytest.fixture(autouse=True)
def catalogue():
    knowledge.forget()
    ws.load_catalogue()


def sign_in(client, phone: str) -> dict:
    code = client.post("/api/v1/auth/otp", json={"phone": phone},
                       expect=202).get_json()["debug_code"]
    return client.post("/api/v1/auth/login", json={"phone": phone, "code": code},
                       expect=200).get_json()


def test_signing_in_whose_code_use_is_retried_signs_in_and_the_code_works_once(
        client, monkeypatch):
    code = client.post("/api/v1/auth/otp", json={"phone": "13800000301"},
                       expect=202).get_json()["debug_code"]

    with sent_twice(monkeypatch, "otp_codes", "bulk_write", "update_one", "delete_one") as seen:
        tokens = client.post("/api/v1/auth/login", json={"phone": "13800000301", "code": code},
                             expect=200).get_json()

    assert seen and tokens["access_token"]
    again = client.post("/api/v1/auth/login", json={"phone": "13800000301", "code": code},
                        expect=401).get_json()
    assert again["error"] == "otp_expired"


def test_a_refresh_whose_writes_are_retried_is_not_taken_for_a_stolen_token(client,
                                                                             monkeypatch):
    tokens = sign_in(client, "13800000302")

    with sent_twice(monkeypatch, "refresh_tokens", "update_one", "insert_one") as seen:
        renewed = client.post("/api/v1/auth/refresh",
                              json={"refresh_token": tokens["refresh_token"]},
                              expect=200).get_json()

    assert {"update_one", "insert_one"} <= set(seen)
    assert RefreshToken.objects(revoked_at__ne=None).count() == 0
    client.with_headers(Authorization=f"Bearer {renewed['access_token']}").get(
        "/api/v1/me", expect=200)
    client.post("/api/v1/auth/refresh", json={"refresh_token": renewed["refresh_token"]},
                expect=200)


def test_real_name_verification_whose_write_is_retried_answers_verified(client, monkeypatch):
    citizen = client.as_(make_citizen(phone="13800000303"))

    with sent_twice(monkeypatch, "users", "update_one") as seen:
        me = citizen.post("/api/v1/me/real-name", json={"name": "周磊", "id_number": ID_NUMBER},
                          expect=200).get_json()

    assert seen and me["real_name_verified"] is True


def test_a_device_removed_by_a_retried_delete_answers_204_once_and_404_after(client,
                                                                             monkeypatch):
    citizen = client.as_(make_citizen(phone="13800000304"))
    device = citizen.post("/api/v1/me/devices", json={"token": "t-1", "platform": "android"},
                          expect=201).get_json()

    with sent_twice(monkeypatch, "devices", "delete_one", "delete_many") as seen:
        citizen.delete(f"/api/v1/me/devices/{device['id']}", expect=204)

    assert seen
    citizen.delete(f"/api/v1/me/devices/{device['id']}", expect=404)


def test_a_rating_whose_insert_is_retried_is_kept_once(client, monkeypatch):
    parent = ws.make_parent()
    application = loop.finished_newborn(parent)

    with sent_twice(monkeypatch, "ratings", "insert_one") as seen:
        rated = client.as_(parent).post(f"/api/v1/applications/{application.id}/ratings",
                                        json={"score": 5}, expect=201).get_json()

    assert seen and [str(r.id) for r in Rating.objects] == [rated["id"]]


def test_a_rectification_reply_and_resolution_whose_writes_are_retried_answer_200(
        client, monkeypatch):
    parent = ws.make_parent()
    application = loop.finished_newborn(parent)
    police_task = application.task_for("newborn_household_registration").id
    case = client.as_(parent).post(f"/api/v1/applications/{application.id}/ratings", json={
        "task": police_task, "score": 1}, expect=201).get_json()["rectification"]
    police = client.as_(make_officer("public_security", region="330381"))
    url = f"/api/v1/workbench/rectifications/{case['id']}"

    with sent_twice(monkeypatch, "ratings", "update_one") as seen:
        replied = police.post(f"{url}/reply", json={"text": "已核实。"}, expect=200).get_json()
        resolved = police.post(f"{url}/resolve", json={"text": "已整改。"},
                               expect=200).get_json()

    assert seen and replied["status"] == "replied" and resolved["status"] == "resolved"
    police.post(f"{url}/resolve", json={"text": "已整改。"}, expect=409)  # later: refused


def test_a_supplement_answer_whose_write_is_retried_answers_200(client, monkeypatch):
    parent = ws.make_parent()
    application = loop.submit_newborn(parent)
    health = make_officer("health")
    task = application.task_for("birth_medical_certificate").id
    handling.claim_task(task_id=task, officer=health)
    supplements.request_supplement(task_id=task, officer=health,
                                   materials=["birth_registration_form"], reason="stamp")
    stamped = make_material(parent, "birth_registration_form")

    with sent_twice(monkeypatch, "applications", "update_one") as seen:
        answered = client.as_(parent).post(
            f"/api/v1/applications/{application.id}/supplements",
            json={"materials": [str(stamped.id)]}, expect=200).get_json()

    assert seen and answered["supplement"] is None
    stored = Application.objects.get(id=application.id)
    assert [e["type"] for e in stored.events].count("supplement_answered") == 1


def test_a_desk_close_whose_write_is_retried_closes_and_a_later_close_is_still_refused(
        desk_open, monkeypatch):
    conversation = say(make_citizen(), "转人工")["conversation_id"]
    agent = make_agent()
    desk.claim(agent=agent, conversation_id=conversation)

    with sent_twice(monkeypatch, "conversations", "update_one") as seen:
        closed = desk.close(agent=agent, conversation_id=conversation)

    assert seen and closed.status == "closed"
    assert Handoff.objects.get().status == "closed"
    assert [t.role for t in Conversation.objects.get(id=conversation).turns].count(
        "assistant") >= 1
    with pytest.raises(InvalidState):
        desk.close(agent=agent, conversation_id=conversation)


def test_a_handoff_claim_and_close_whose_writes_are_retried_answer_as_first(
        desk_open, monkeypatch):
    say(make_citizen(), "转人工")
    handoff = Handoff.objects.get()
    officer = make_officer("public_security")

    with sent_twice(monkeypatch, "handoffs", "update_one") as seen:
        claimed = handoffs.claim_handoff(handoff_id=str(handoff.id), staff=officer)
        closed = handoffs.close_handoff(handoff_id=str(handoff.id), staff=officer)

    assert seen and claimed.status == "claimed" and closed.status == "closed"
    with pytest.raises(InvalidState):
        handoffs.close_handoff(handoff_id=str(handoff.id), staff=officer)


def test_a_family_request_confirmed_by_a_retried_write_is_confirmed(client, monkeypatch):
    spouse_id = numbers.make_id_number("330381", date(1992, 2, 3), 34, "female")
    asker = make_citizen(phone="13800000305", id_number=ID_NUMBER)
    asked = make_citizen(phone="13800000306", id_number=spouse_id)
    entry = client.as_(asker).post("/api/v1/me/family", json={
        "relation": "spouse", "name": "Chen Jing", "id_number": spouse_id},
        expect=201).get_json()

    with sent_twice(monkeypatch, "family_members", "update_one") as seen:
        client.as_(asked).post(f"/api/v1/me/family/requests/{entry['id']}/confirm", expect=200)

    assert seen
    assert client.as_(asker).get("/api/v1/me/family", expect=200).get_json()[0]["status"] == \
        "confirmed"
