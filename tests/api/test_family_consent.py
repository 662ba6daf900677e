"""Whom a citizen may add to their family: another verified citizen, or a child other citizens
already hold, counts only with their yes (or a proven link), and until then grants nothing."""
from datetime import date

import pytest
from pymongo.collection import Collection

from models.application import Application
from models.family import FamilyMember
from services.identity import family_members, numbers
from tests import workflow_support as ws
from tests.helpers import make_citizen

FAMILY = "/api/v1/me/family"
REQUESTS = "/api/v1/me/family/requests"
APPLICATIONS = "/api/v1/applications"
FATHER_ID = numbers.make_id_number("330381", date(1990, 6, 1), 12, "male")
MOTHER_ID = numbers.make_id_number("330381", date(1992, 2, 3), 34, "female")
STRANGER_ID = numbers.make_id_number("330381", date(1985, 4, 4), 56, "male")
AUNT_ID = numbers.make_id_number("330381", date(1980, 8, 8), 58, "female")


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def father():
    return make_citizen(phone="13800000201", name="Zhou Lei", id_number=FATHER_ID)


@pytest.fixture
def mother():
    return make_citizen(phone="13800000202", name="Chen Jing", id_number=MOTHER_ID)


@pytest.fixture
def stranger():
    return make_citizen(phone="13800000203", name="Wang Wu", id_number=STRANGER_ID)


def add(client, who, expect=201, **member):
    return client.as_(who).post(FAMILY, json=member, expect=expect).get_json()


def spouses(client, father, mother):
    """Each adds the other: the second listing proves the first."""
    first = add(client, father, relation="spouse", name="Chen Jing", id_number=MOTHER_ID)
    second = add(client, mother, relation="spouse", name="Zhou Lei", id_number=FATHER_ID)
    return first, second


UNVERIFIED_SPOUSE_ID = numbers.make_id_number("330381", date(1993, 3, 3), 78, "female")


def newborn_with_number(client, father) -> tuple[str, str]:
    """The father applies for the newborn bundle; the police issue the baby's ID number onto
    the family entry the application made (as the household registration's output does)."""
    has_spouse = FamilyMember.objects(owner=str(father.id), relation="spouse").count()
    typed = {} if has_spouse else {"spouse_name": "Li Hong",
                                   "spouse_id_number": UNVERIFIED_SPOUSE_ID}
    made = client.as_(father).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(**typed),
        "materials": ws.newborn_materials(father)}, headers={"Idempotency-Key": "birth"},
        expect=201).get_json()
    baby = made["subject"]["id"]
    family_members.set_family_member_id_number(owner_id=str(father.id), member_id=baby,
                                               id_number=ws.baby_id_number())
    return made["id"], baby


def sees(client, who, application_id) -> bool:
    listed = {a["id"] for a in client.as_(who).get(
        APPLICATIONS, query_string={"page_size": 100}, expect=200).get_json()}
    one = client.as_(who).get(f"{APPLICATIONS}/{application_id}")
    assert (one.status_code == 200) == (application_id in listed)
    return one.status_code == 200


def test_a_verified_citizen_added_as_spouse_is_pending_until_they_confirm(
        client, father, mother):
    entry = add(client, father, relation="spouse", name="Chen Jing", id_number=MOTHER_ID)
    assert entry["status"] == "pending" and entry["awaiting"] == "citizen"

    asked = client.as_(mother).get(REQUESTS, expect=200).get_json()
    assert [(r["id"], r["relation"], r["requester"]["name"]) for r in asked] == [
        (entry["id"], "spouse", "Zhou Lei")]
    assert asked[0]["requester"]["id_number"] == "330381********" + FATHER_ID[-4:]
    assert client.as_(father).get(REQUESTS, expect=200).get_json() == []

    client.as_(mother).post(f"{REQUESTS}/{entry['id']}/confirm", expect=200)

    listed = client.as_(father).get(FAMILY, expect=200).get_json()
    assert [(m["id"], m["status"]) for m in listed] == [(entry["id"], "confirmed")]
    assert client.as_(mother).get(REQUESTS, expect=200).get_json() == []


def test_a_pending_spouse_is_neither_prefilled_nor_accepted_when_typed(client, father, mother):
    add(client, father, relation="spouse", name="Chen Jing", id_number=MOTHER_ID)

    answer = client.as_(father).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "newborn"},
        "form": ws.newborn_form(spouse_name="Chen Jing", spouse_id_number=MOTHER_ID),
        "materials": ws.newborn_materials(father)}, headers={"Idempotency-Key": "birth"},
        expect=422).get_json()

    assert answer["error"] == "family_member_pending"
    assert "form.spouse_id_number" in answer["errors"]
    assert Application.objects.count() == 0


def test_two_spouses_listing_each_other_need_no_confirmation(client, father, mother):
    first, second = spouses(client, father, mother)

    assert second["status"] == "confirmed"
    assert [m["status"] for m in client.as_(father).get(FAMILY, expect=200).get_json()] == [
        "confirmed"]
    assert client.as_(mother).get(REQUESTS, expect=200).get_json() == []


def test_the_newborn_story_both_parents_see_the_baby_s_application(client, father, mother):
    spouses(client, father, mother)
    application_id, _ = newborn_with_number(client, father)
    assert not sees(client, mother, application_id)

    # The baby's only guardian so far lists her as spouse: her entry counts at once.
    entry = add(client, mother, relation="child", name="Zhou Xiaoyu", id_number=ws.baby_id_number())

    assert entry["status"] == "confirmed"
    assert sees(client, mother, application_id) and sees(client, father, application_id)


def test_a_stranger_adding_someone_elses_child_gets_a_pending_entry_and_no_access(
        client, father, mother, stranger):
    spouses(client, father, mother)
    application_id, _ = newborn_with_number(client, father)

    entry = add(client, stranger, relation="child", name="X", id_number=ws.baby_id_number())

    assert entry["status"] == "pending" and entry["awaiting"] == "guardians"
    assert not sees(client, stranger, application_id)
    asked = client.as_(father).get(REQUESTS, expect=200).get_json()
    assert [(r["id"], r["awaiting"], r["member"]["name"]) for r in asked] == [
        (entry["id"], "guardians", "Zhou Xiaoyu")]
    client.as_(father).post(f"{REQUESTS}/{entry['id']}/decline", expect=204)
    assert not sees(client, stranger, application_id)
    assert [m["status"] for m in client.as_(stranger).get(FAMILY, expect=200).get_json()] == [
        "declined"]
    # Declined, then asked again: the entry is still there (remove it first), nothing changes.
    add(client, stranger, 409, relation="child", name="X", id_number=ws.baby_id_number())


def test_a_pending_child_cannot_be_the_subject_of_an_application(client, father, stranger):
    newborn_with_number(client, father)
    entry = add(client, stranger, relation="child", name="X", id_number=ws.baby_id_number())

    answer = client.as_(stranger).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "family", "id": entry["id"]},
        "form": ws.newborn_form(), "materials": ws.newborn_materials(stranger)},
        headers={"Idempotency-Key": "x"}, expect=422).get_json()

    assert "subject" in answer["errors"]
    assert Application.objects(applicant=str(stranger.id)).count() == 0


def test_a_third_guardian_needs_a_guardian_even_when_one_lists_them_as_spouse(
        client, father, mother, stranger):
    spouses(client, father, mother)
    application_id, _ = newborn_with_number(client, father)
    add(client, mother, relation="child", name="Zhou Xiaoyu", id_number=ws.baby_id_number())
    # The mother lists the stranger as spouse too: with two guardians, that proves nothing.
    client.as_(mother).delete(f"{FAMILY}/{client.as_(mother).get(FAMILY).get_json()[0]['id']}",
                              expect=204)
    add(client, mother, relation="spouse", name="Wang Wu", id_number=STRANGER_ID)

    entry = add(client, stranger, relation="child", name="X", id_number=ws.baby_id_number())
    assert entry["status"] == "pending"
    assert not sees(client, stranger, application_id)

    client.as_(mother).post(f"{REQUESTS}/{entry['id']}/confirm", expect=200)

    assert sees(client, stranger, application_id)  # the father's entry: linked through hers


def test_a_child_added_before_its_number_was_issued_links_to_nobody(
        client, father, mother, stranger):
    """A guessed number, added before the police issue it to the real baby, is nobody's then;
    it never reaches the family whose baby is later given that number."""
    add(client, stranger, relation="child", name="X", id_number=ws.baby_id_number())
    spouses(client, father, mother)
    application_id, _ = newborn_with_number(client, father)

    assert not sees(client, stranger, application_id)
    # And the real mother is not held up by the stranger's entry.
    entry = add(client, mother, relation="child", name="Zhou Xiaoyu", id_number=ws.baby_id_number())
    assert entry["status"] == "confirmed" and sees(client, mother, application_id)


def test_a_minor_with_their_own_account_confirms_before_a_parent_sees_their_applications(
        client, father):
    teen_id = numbers.make_id_number("330381", date(2010, 1, 1), 91, "female")
    teen = make_citizen(phone="13800000209", name="Zhou Qing", id_number=teen_id)
    own = Application(applicant=str(teen.id), bundle="newborn", bundle_version=1, subject={
        "kind": "self", "id": str(teen.id)}, status="in_progress").save()

    entry = add(client, father, relation="child", name="Zhou Qing", id_number=teen_id)
    assert entry["status"] == "pending" and entry["awaiting"] == "citizen"
    assert not sees(client, father, str(own.id))

    client.as_(teen).post(f"{REQUESTS}/{entry['id']}/confirm", expect=200)
    assert sees(client, father, str(own.id))


def test_asking_a_verified_citizen_needs_a_verified_real_name_in_both_languages(
        client, mother):
    unverified = make_citizen(phone="13800000210")

    english = add(client, unverified, 403, relation="spouse", name="Chen Jing",
                  id_number=MOTHER_ID)
    chinese = client.as_(unverified).with_headers(**{"Accept-Language": "zh-CN"}).post(
        FAMILY, json={"relation": "spouse", "name": "Chen Jing", "id_number": MOTHER_ID},
        expect=403).get_json()

    assert english["error"] == chinese["error"] == "real_name_required"
    assert chinese["message"] == "添加需要对方确认的家庭成员前，请先完成实名认证。"
    assert FamilyMember.objects.count() == 0


def test_only_the_person_asked_may_answer_and_an_answer_is_given_once(
        client, father, mother, stranger):
    entry = add(client, father, relation="spouse", name="Chen Jing", id_number=MOTHER_ID)
    url = f"{REQUESTS}/{entry['id']}"

    assert client.as_(stranger).post(f"{url}/confirm", expect=404).get_json()["error"] == \
        "family_request_not_found"
    client.as_(father).post(f"{url}/confirm", expect=404)  # not one's own request
    first = client.as_(mother).post(f"{url}/confirm", expect=200).get_json()
    assert client.as_(mother).post(f"{url}/confirm", expect=200).get_json() == first
    refused = client.as_(mother).post(f"{url}/decline", expect=409).get_json()
    assert refused["error"] == "family_request_decided"


def test_a_typed_child_number_other_citizens_hold_is_refused_in_a_form(client, father, stranger):
    newborn_with_number(client, father)
    kid = add(client, stranger, relation="child", name="X", birth_date=ws.birth_date().isoformat())

    answer = client.as_(stranger).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "family", "id": kid["id"]},
        "form": ws.newborn_form(subject_id_number=ws.baby_id_number()),
        "materials": ws.newborn_materials(stranger)}, headers={"Idempotency-Key": "x"})

    assert answer.status_code == 422
    stored = FamilyMember.objects(id=kid["id"]).get()
    assert stored.id_number_index is None  # the number was not recorded on the entry


def test_an_entry_made_before_its_citizen_verified_waits_for_them_afterwards(client, father):
    entry = add(client, father, relation="sibling", name="Zhou Mei", id_number=AUNT_ID)
    assert entry["status"] == "confirmed"  # nobody to ask then
    aunt = make_citizen(phone="13800000211")

    client.as_(aunt).post("/api/v1/me/real-name", json={"name": "Zhou Mei",
                                                        "id_number": AUNT_ID}, expect=200)

    assert [m["status"] for m in client.as_(father).get(FAMILY, expect=200).get_json()] == [
        "pending"]
    assert [r["id"] for r in client.as_(aunt).get(REQUESTS, expect=200).get_json()] == [
        entry["id"]]


def test_adding_a_family_member_whose_insert_is_retried_answers_once(
        client, father, monkeypatch):
    """A driver that lost an insert's answer sends it again and meets its own first attempt."""
    insert_one = Collection.insert_one

    def retried(self, document, *args, **kwargs):
        insert_one(self, dict(document), *args, **kwargs)
        return insert_one(self, document, *args, **kwargs)

    monkeypatch.setattr(Collection, "insert_one", retried)
    entry = add(client, father, relation="child", name="Zhou Xiaoyu",
                id_number=ws.baby_id_number())
    monkeypatch.undo()

    assert entry["status"] == "confirmed"
    assert [str(m.id) for m in FamilyMember.objects(owner=str(father.id))] == [entry["id"]]
