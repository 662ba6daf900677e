"""Proactive offers through the API: a hospital reports a birth, the mother's phone gets the
offer, one call (however many taps) makes her application, and the reform figures count it."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from models.application import Application
from models.offer import LifeEvent, Offer
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_material
from tests.notifications.conftest import fcm  # noqa: F401 (the FCM stand-in fixture)
from tests.notifications.support import fast_worker

EVENTS = "/api/v1/partner/life-events"
OFFERS = "/api/v1/me/offers"
REFORM = "/api/v1/stats/reform"
# What the mother still types: everything the hospital and her account know is filled in.
HER_ANSWERS = {"household_address": "1 Wansong Road, Ruian", "residence_address": "1 Wansong Road",
               "newborn_ethnicity": "Han", "bank_account": "6222020200112233445",
               "bank_name": "ICBC", "delivery_type": "vaginal",
               "premium_payment_method": "bank_deduction"}


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def mother(**fields):
    """Chen Jing, verified, with her four materials already in her vault."""
    citizen = make_citizen(phone="13900001111", id_number=loop.MOTHER_ID, name="Chen Jing",
                           **fields)
    for kind in ws.NEWBORN_MATERIALS:
        make_material(citizen, kind)
    return citizen


def accept(as_citizen, offer_id, key, answers=None, expect=201):
    return as_citizen.post(f"{OFFERS}/{offer_id}/accept", json={"form": answers or HER_ANSWERS},
                           headers={"Idempotency-Key": key}, expect=expect)


def test_a_birth_becomes_the_mothers_offer_and_one_application_however_often_she_taps(
        app, client, fcm):  # noqa: F811
    chen = mother(locale="zh-CN")
    as_chen = client.as_(chen)
    as_chen.post("/api/v1/me/devices", json={"token": "chen-phone", "platform": "android"},
                 expect=201)
    hospital = loop.hospital(client)

    first = hospital.post(EVENTS, json=loop.birth_event(), expect=202).get_json()
    again = hospital.post(EVENTS, json=loop.birth_event(), expect=202).get_json()
    assert first == again and first["offers"] == 1  # the father has no account (yet)
    assert LifeEvent.objects.count() == 1 and Offer.objects.count() == 1

    # Her phone hears of it, in Chinese; the inbox keeps it.
    loop.drain(fast_worker(app))
    pushed = [m for m in fcm.messages if m["data"]["type"] == "offer_made"]
    assert [m["token"] for m in pushed] == ["chen-phone"]
    assert pushed[0]["notification"]["title"] == "为您准备好了“新生儿出生一件事”"
    assert "Zhou Xiaoyu" not in json.dumps(fcm.messages) and loop.MOTHER_ID not in json.dumps(
        fcm.messages)
    inbox = as_chen.get("/api/v1/me/notifications", expect=200).get_json()
    assert [n["type"] for n in inbox["items"]] == ["offer_made"]

    offers = as_chen.get(OFFERS, expect=200).get_json()
    assert len(offers) == 1
    offer = offers[0]
    assert (offer["bundle"], offer["status"], offer["source"]) == ("newborn", "open",
                                                                   "life_event")
    assert offer["prefill"]["newborn_name"] == "Zhou Xiaoyu"
    assert offer["prefill"]["birth_certificate_number"] == "R330381001"
    assert offer["prefill"]["relation_to_newborn"] == "mother"
    assert offer["prefill"]["spouse_id_number"] == loop.FATHER_ID[:6] + "********" + \
        loop.FATHER_ID[-4:]
    assert {m["type"] for m in offer["materials_on_file"]} == set(ws.NEWBORN_MATERIALS)
    assert offer["materials_needed"] == [] and offer["expires_at"]

    # One call makes the application; a retry, a second tap with a new key: the same one.
    made = accept(as_chen, offer["id"], "tap-1").get_json()
    assert accept(as_chen, offer["id"], "tap-1").get_json() == made
    assert accept(as_chen, offer["id"], "tap-2").get_json()["id"] == made["id"]
    assert accept(as_chen, offer["id"], "tap-3", answers={"household_address": "elsewhere"}
                  ).get_json()["id"] == made["id"]
    assert Application.objects.count() == 1
    assert made["form"]["newborn_name"] == "Zhou Xiaoyu" and made["form"]["spouse_name"] == (
        "Zhou Lei")
    assert made["form"]["household_address"] == HER_ANSWERS["household_address"]
    assert made["subject"]["kind"] == "family" and made["subject"]["name"] == "Zhou Xiaoyu"
    accepted = as_chen.get(OFFERS, expect=200).get_json()[0]
    assert (accepted["status"], accepted["application"]) == ("accepted", made["id"])

    # The departments finish it; the reform figures count it and what it saved.
    application = loop.finish(Application.objects.get(id=made["id"]), loop.officers())
    loop.sweep()
    figures = client.get(REFORM, query_string={"bundle": "newborn", "region": "330381"},
                         expect=200).get_json()
    assert (figures["applications"], figures["completed"]) == (1, 1)
    assert (figures["forms_saved"], figures["materials_saved"], figures["trips_saved"]) == (
        5 - 1, 24 - 4, 6 - 0)
    assert figures["completed_within_hour_share"] == 1.0
    assert 1 <= figures["median_minutes_to_complete"] <= 60
    assert figures["supplement_share"] == 0.0
    assert application.status == "completed"


def test_a_parent_without_an_account_gets_the_offer_once_they_sign_up_and_verify(client):
    hospital = loop.hospital(client)
    assert hospital.post(EVENTS, json=loop.birth_event(), expect=202).get_json()["offers"] == 0
    assert Offer.objects.count() == 0
    stored = LifeEvent.objects.get()
    assert loop.MOTHER_ID not in json.dumps(stored.to_mongo().to_dict(), default=str)
    assert "Zhou Xiaoyu" not in json.dumps(stored.to_mongo().to_dict(), default=str)

    # The father signs up with his phone and verifies his real name: his offer is there.
    code = client.post("/api/v1/auth/otp", json={"phone": "13700002222"},
                       expect=202).get_json()["debug_code"]
    tokens = client.post("/api/v1/auth/login", json={"phone": "13700002222", "code": code},
                         expect=200).get_json()
    father = client.with_headers(Authorization=f"Bearer {tokens['access_token']}")
    assert father.get(OFFERS, expect=200).get_json() == []
    father.post("/api/v1/me/real-name", json={"name": "Zhou Lei", "id_number": loop.FATHER_ID},
                expect=200)
    offers = father.get(OFFERS, expect=200).get_json()
    assert [(o["bundle"], o["prefill"]["relation_to_newborn"]) for o in offers] == [
        ("newborn", "father")]
    assert loop.sweep()["waiting_offers_made"] == 0  # nothing left for the sweep


def test_partners_only_with_the_scope_and_bad_events_are_refused_naming_the_field(
        client, as_citizen):
    as_citizen.post(EVENTS, json=loop.birth_event(), expect=403)
    loop.hospital(client, scopes=("webhooks",)).post(EVENTS, json=loop.birth_event(),
                                                     expect=403)
    client.post(EVENTS, json=loop.birth_event(), expect=401)
    hospital = loop.hospital(client)
    person = {"role": "mother", "id_number": loop.MOTHER_ID, "name": "Chen Jing"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    bad = [
        ({"type": "funeral"}, "type"), ({"bundle": "no_such_bundle"}, "bundle"),
        ({"occurred_at": tomorrow}, "occurred_at"),
        ({"people": [{**person, "id_number": loop.MOTHER_ID[:-1] + "0"}]}, "people.0.id_number"),
        ({"people": [{**person, "id_number": "12345"}]}, "people.0.id_number"),
        ({"people": [{**person, "role": "aunt"}]}, "people.0.role"),
        ({"facts": {"newborn_gender": "female", "birth_hospital": "Ruian"}},
         "facts.newborn_name"),
        ({"facts": {**loop.birth_event()["facts"], "blood_type": "A"}}, "facts.blood_type"),
        ({"region": "Ruian"}, "region"), ({"people": []}, "people"),
    ]
    for change, field in bad:
        answer = hospital.post(EVENTS, json=loop.birth_event(event_id=f"bad-{field}", **change),
                               expect=422).get_json()
        assert field in answer["errors"], (change, answer)
    chinese = hospital.post(EVENTS, json=loop.birth_event(type="funeral"), expect=422,
                            headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese["errors"]["type"][0].startswith("未知的事件类型")
    assert LifeEvent.objects.count() == 0 and Offer.objects.count() == 0


def test_declining_opting_out_and_expiry_work_per_the_contract(client):
    chen = mother()
    as_chen = client.as_(chen)
    hospital = loop.hospital(client)
    hospital.post(EVENTS, json=loop.birth_event("first"), expect=202)
    offer = as_chen.get(OFFERS).get_json()[0]["id"]

    as_chen.post(f"{OFFERS}/{offer}/decline", expect=204)
    as_chen.post(f"{OFFERS}/{offer}/decline", expect=204)
    assert as_chen.get(OFFERS, query_string={"status": "declined"}).get_json()[0]["id"] == offer
    assert accept(as_chen, offer, "late", expect=409).get_json()["error"] == "offer_declined"
    client.as_(ws.make_parent(5)).post(f"{OFFERS}/{offer}/decline", expect=404)

    hospital.post(EVENTS, json=loop.birth_event("second"), expect=202)
    second = next(o for o in as_chen.get(OFFERS).get_json() if o["status"] == "open")["id"]
    Offer.objects(id=second).update(set__expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert as_chen.get(OFFERS, query_string={"status": "expired"}).get_json()[0]["id"] == second
    assert accept(as_chen, second, "late", expect=409).get_json()["error"] == "offer_expired"
    assert loop.sweep()["offers_expired"] == 1
    assert Application.objects.count() == 0

    me = as_chen.patch("/api/v1/me", json={"proactive_offers": False}, expect=200).get_json()
    assert me["proactive_offers"] is False
    assert hospital.post(EVENTS, json=loop.birth_event("third"),
                         expect=202).get_json()["offers"] == 0
    assert Offer.objects.count() == 2


def test_an_accept_missing_answers_makes_nothing_and_leaves_the_offer_open(client):
    chen = mother()
    loop.hospital(client).post(EVENTS, json=loop.birth_event(), expect=202)
    as_chen = client.as_(chen)
    offer = as_chen.get(OFFERS).get_json()[0]["id"]

    refused = accept(as_chen, offer, "k", answers={"bank_name": "ICBC"}, expect=422).get_json()
    assert "form.household_address" in refused["errors"]
    as_chen.post(f"{OFFERS}/{offer}/accept", json={"form": HER_ANSWERS}, expect=428)
    assert Application.objects.count() == 0
    assert as_chen.get(OFFERS).get_json()[0]["status"] == "open"
    accept(as_chen, offer, "k")
    assert Application.objects.count() == 1
