"""Offer rules in the service: the enrolment season, people who verify while no one listens,
personal data that outlives no offer, one application per birth."""
from datetime import UTC, date, datetime, timedelta

import pytest

from models.base import utcnow
from models.offer import LifeEvent, Offer, SweepMark
from services.offers import enrolment, life_events, matching, offers
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_family_member, make_material

# Ruian's season in these tests: offers open on 1 May, cut-off day 31 August.
IN_SEASON = datetime(2026, 5, 20, 4, tzinfo=UTC)


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def child(parent, born: date, name="Xiaoyu"):
    return make_family_member(parent, "child", name=name, birth_date=born)


def test_children_reaching_three_or_six_by_the_cut_off_get_the_offer_once_in_season(app):
    parent = ws.make_parent()
    three = child(parent, date(2023, 8, 31), "Turns three on the cut-off day")
    child(parent, date(2023, 9, 1), "Turns three a day too late")
    child(parent, date(2022, 6, 1), "Already four")
    six = child(parent, date(2020, 2, 29), "Turns six")

    assert enrolment.offer_enrolment(now=IN_SEASON) == 2
    assert enrolment.offer_enrolment(now=IN_SEASON) == 0  # today's run is done
    SweepMark.objects.delete()  # as if two processes both ran today: still once per child
    assert enrolment.offer_enrolment(now=IN_SEASON) == 0
    made = {(o.bundle, o.subject["id"]) for o in Offer.objects}
    assert made == {("kindergarten_admission", str(three.id)),
                    ("school_enrollment", str(six.id))}
    offer = Offer.objects.get(bundle="kindergarten_admission")
    assert offer.expires_at.date() == date(2026, 7, 31)  # the season's end, local midnight
    assert offers.prefill_of(offer)["facts"]["child_name"] == "Turns three on the cut-off day"


def test_no_enrolment_offers_out_of_season_or_for_who_wants_none(app, monkeypatch):
    child(ws.make_parent(2, proactive_offers=False), date(2023, 5, 1))
    assert enrolment.offer_enrolment(now=datetime(2026, 3, 1, tzinfo=UTC)) == 0
    assert enrolment.offer_enrolment(now=IN_SEASON) == 0
    monkeypatch.setitem(app.config, "ENROLMENT_SEASONS", {
        "*": {"opens": "09-01", "closes": "09-30", "age_on": "08-31"}})
    yes = ws.make_parent(3)
    child(yes, date(2023, 5, 1))
    assert enrolment.offer_enrolment(now=IN_SEASON) == 0
    assert enrolment.offer_enrolment(now=datetime(2026, 9, 2, tzinfo=UTC)) == 1
    assert enrolment.offer_enrolment(now=datetime(2026, 9, 2, 9, tzinfo=UTC)) == 0  # once a day


def test_the_sweep_makes_the_offer_a_verification_without_listener_missed(client):
    life_events.report(partner_id="hospital", payload=_payload())
    assert Offer.objects.count() == 0
    # Verified, and no signal sent (as if the process had none of the offers' listener).
    make_citizen(id_number=loop.MOTHER_ID, name="Chen Jing", real_name_verified_at=utcnow())

    assert matching.match_waiting() == 1
    assert matching.match_waiting() == 0
    assert Offer.objects.get().citizen == LifeEvent.objects.get().people[0].user


def test_once_one_parent_accepts_the_other_gets_no_second_application(client):
    chen = make_citizen(phone="13900001111", id_number=loop.MOTHER_ID, name="Chen Jing")
    life_events.report(partner_id="hospital", payload=_payload())
    offer = Offer.objects.get()
    for kind in ws.NEWBORN_MATERIALS:
        make_material(chen, kind)
    offers.accept(offer_id=str(offer.id), citizen=chen, idempotency_key="k", form={
        "household_address": "1 Wansong Road", "residence_address": "1 Wansong Road",
        "newborn_ethnicity": "Han", "bank_account": "6222020200112233445", "bank_name": "ICBC",
        "delivery_type": "vaginal", "premium_payment_method": "bank_deduction"})

    father = make_citizen(id_number=loop.FATHER_ID, name="Zhou Lei")
    assert matching.offer_waiting_events(father) == 1
    assert Offer.objects.count() == 1  # he is covered by the family's accepted offer
    assert LifeEvent.objects.get().people[1].offer == str(offer.id)


def test_after_the_offers_time_the_events_personal_data_is_gone_and_a_resend_answers_alike():
    first = life_events.report(partner_id="hospital", payload=_payload())
    later = utcnow() + timedelta(days=31)

    assert matching.scrub_expired(now=later) == 1
    stored = LifeEvent._get_collection().find_one()
    assert "facts_encrypted" not in stored
    assert all(p["id_number_encrypted"] is None and p["name_encrypted"] is None
               and p["id_number_index"] is None for p in stored["people"])
    assert life_events.report(partner_id="hospital", payload=_payload()) == first
    assert matching.match_waiting(now=later) == 0


def _payload() -> dict:
    event = loop.birth_event()
    event["occurred_at"] = datetime.fromisoformat(event["occurred_at"])
    return event
