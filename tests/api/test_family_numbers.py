"""ID numbers typed into a form for family members: the family's own pass, new ones become family
records, another verified citizen's is refused and nothing is made."""
from datetime import date

import pytest

from common import crypto
from models.application import Application
from models.family import FamilyMember
from services.identity import numbers
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_family_member

URL = "/api/v1/applications"
STRANGER_ID = numbers.make_id_number("330381", date(1992, 2, 2), 77, "female")
NEW_SPOUSE_ID = numbers.make_id_number("330381", date(1993, 3, 3), 78, "female")


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def father():
    """Verified, with no spouse on file: the form asks for the spouse's name and number."""
    return make_citizen(phone="13800000101", name="Zhou Lei",
                        id_number=numbers.make_id_number("330381", date(1990, 5, 1), 11, "male"))


def apply(client, father, expect, **form):
    body = {"bundle": "newborn", "subject": {"kind": "newborn"},
            "form": ws.newborn_form(spouse_name="Chen Jing", **form),
            "materials": ws.newborn_materials(father)}
    return client.as_(father).post(URL, json=body, headers={"Idempotency-Key": "birth"},
                                   expect=expect)


def index(number: str) -> str:
    return crypto.blind_index("id_number", number)


def test_another_verified_citizens_id_number_as_the_spouse_is_refused_and_nothing_made(
        client, father):
    make_citizen(phone="13800000102", id_number=STRANGER_ID)

    answer = apply(client, father, 422, spouse_id_number=STRANGER_ID).get_json()

    assert answer["error"] == "id_number_not_in_family"
    assert "form.spouse_id_number" in answer["errors"]
    assert Application.objects.count() == 0
    assert FamilyMember.objects(owner=str(father.id)).count() == 0  # not even the baby


def test_the_refusal_reads_in_chinese(client, father):
    make_citizen(phone="13800000102", id_number=STRANGER_ID)

    answer = client.as_(father).with_headers(**{"Accept-Language": "zh-CN"}).post(
        URL, json={"bundle": "newborn", "subject": {"kind": "newborn"},
                   "form": ws.newborn_form(spouse_name="陈静", spouse_id_number=STRANGER_ID),
                   "materials": ws.newborn_materials(father)},
        headers={"Idempotency-Key": "birth"}, expect=422).get_json()

    assert answer["errors"]["form.spouse_id_number"] == [
        "该身份证号码不属于您的家庭成员：请核对，或先将其添加为家庭成员。"]


def test_a_spouse_nobody_verified_becomes_a_family_record_and_is_prefilled_next_time(
        client, father):
    apply(client, father, 201, spouse_id_number=NEW_SPOUSE_ID)

    spouse = FamilyMember.objects(owner=str(father.id), relation="spouse").get()
    assert spouse.id_number_index == index(NEW_SPOUSE_ID) and spouse.name == "Chen Jing"
    twin = client.as_(father).post(URL, json={
        "bundle": "newborn", "subject": {"kind": "newborn"},
        "form": ws.newborn_form(newborn_name="Zhou Xiaoyu II"),  # no spouse answers typed
        "materials": ws.newborn_materials(father)}, headers={"Idempotency-Key": "twin"},
        expect=201).get_json()
    assert twin["form"]["spouse_id_number"] == crypto.mask_id_number(NEW_SPOUSE_ID)


def test_a_spouse_on_file_without_a_number_gets_the_typed_one(client, father):
    make_family_member(father, "spouse", name="Chen Jing", birth_date=date(1993, 3, 3))

    apply(client, father, 201, spouse_id_number=NEW_SPOUSE_ID)

    spouses = FamilyMember.objects(owner=str(father.id), relation="spouse")
    assert [s.id_number_index for s in spouses] == [index(NEW_SPOUSE_ID)]


def test_the_applicants_own_number_as_the_spouses_is_refused(client, father):
    own = crypto.decrypt(father.id_number_encrypted)

    answer = apply(client, father, 422, spouse_id_number=own).get_json()

    assert answer["error"] == "own_id_number" and Application.objects.count() == 0


def test_a_child_s_number_typed_as_the_spouse_s_is_refused(client, father):
    child_id = numbers.make_id_number("330381", date(2015, 6, 6), 79, "male")
    make_family_member(father, "child", id_number=child_id)
    make_family_member(father, "spouse", name="Chen Jing", birth_date=date(1993, 3, 3))

    answer = apply(client, father, 422, spouse_id_number=child_id).get_json()

    assert answer["error"] == "id_number_of_another_member"


def test_a_verified_spouse_already_in_the_family_is_prefilled_and_accepted(client, father):
    make_citizen(phone="13800000102", id_number=STRANGER_ID)
    make_family_member(father, "spouse", name="Chen Jing", id_number=STRANGER_ID)

    made = apply(client, father, 201).get_json()

    assert made["form"]["spouse_id_number"] == crypto.mask_id_number(STRANGER_ID)
