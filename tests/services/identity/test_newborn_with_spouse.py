"""The newborn and a new family entry written in one command (a first application typing the
spouse's ID number): a retry meets its own first attempt and changes nothing; another entry with
the number is a real conflict."""
from datetime import date

import pytest
from bson import ObjectId

from models.family import FamilyMember
from services.errors import InvalidState
from services.identity import family_members, numbers
from tests.helpers import make_citizen, make_family_member

SPOUSE_ID = numbers.make_id_number("330381", date(1993, 3, 3), 78, "female")
BORN = date(2026, 11, 30)


@pytest.fixture
def father():
    return make_citizen(phone="13800000501", name="Zhou Lei",
                        id_number=numbers.make_id_number("330381", date(1990, 6, 1), 12, "male"))


def birth(father, entry):
    return family_members.add_newborn_once(owner=father, member_id=ObjectId(b"newborn-0001"),
                                           name="Zhou Xiaoyu", birth_date=BORN,
                                           gender="female", with_entry=entry)


def test_the_newborn_and_the_spouse_are_written_once_however_often_the_write_is_retried(
        father):
    entry = family_members.new_entry(owner=father, relation="spouse", name="Li Hong",
                                     id_number=SPOUSE_ID, known=family_members.Known())

    first, again = birth(father, entry), birth(father, entry)

    assert first.id == again.id and again.name == "Zhou Xiaoyu"
    family = FamilyMember.objects(owner=str(father.id))
    assert sorted((m.relation, m.name) for m in family) == [("child", "Zhou Xiaoyu"),
                                                            ("spouse", "Li Hong")]
    spouse = family.get(relation="spouse")
    assert (spouse.id, spouse.status, spouse.birth_date) == (entry[0].id, "confirmed",
                                                             date(1993, 3, 3))


def test_another_entry_with_the_number_refuses_the_new_one_and_keeps_the_newborn(father):
    make_family_member(father, "parent", name="Li Hong", id_number=SPOUSE_ID)
    entry = family_members.new_entry(owner=father, relation="spouse", name="Li Hong",
                                     id_number=SPOUSE_ID, known=family_members.Known())

    with pytest.raises(InvalidState) as refused:
        birth(father, entry)

    assert refused.value.error == "family_member_exists"
    assert FamilyMember.objects(owner=str(father.id), relation="spouse").count() == 0
    assert FamilyMember.objects(owner=str(father.id), relation="child").count() == 1


def test_a_spouse_the_read_found_waiting_refuses_a_second_one_before_anything_is_written(
        father):
    waiting = make_family_member(father, "spouse", name="Chen Jing")
    FamilyMember.objects(id=waiting.id).update_one(set__status="pending")
    known = family_members.Known(entries=[FamilyMember.objects.get(id=waiting.id)])

    with pytest.raises(InvalidState) as refused:
        family_members.new_entry(owner=father, relation="spouse", name="Li Hong",
                                 id_number=SPOUSE_ID, known=known)

    assert refused.value.error == "spouse_exists"
    assert FamilyMember.objects(owner=str(father.id)).count() == 1
