"""People's names rest encrypted: users' and family members' names are sealed in the database,
read in the clear by the code, and those written before are sealed by the seed's backfill."""
from datetime import date

from models.connection import database
from models.family import FamilyMember
from models.sealed import is_sealed
from models.user import User
from services.identity import citizens, name_sealing
from services.identity.numbers import make_id_number
from tests.helpers import make_citizen, make_family_member


def stored(collection: str, _id) -> str:
    return database()[collection].find_one({"_id": _id})["name"]


def test_a_citizens_and_a_family_members_names_rest_sealed_and_read_in_the_clear():
    citizen = make_citizen(name="Zhou Lei")
    member = make_family_member(citizen, "spouse", name="Chen Jing")

    assert is_sealed(stored("users", citizen.id)) and "Zhou" not in stored("users", citizen.id)
    assert is_sealed(stored("family_members", member.id))
    assert User.objects.get(id=citizen.id).name == "Zhou Lei"
    assert FamilyMember.objects.get(id=member.id).name == "Chen Jing"
    assert User.objects(id=citizen.id).scalar("name").first() == "Zhou Lei"


def test_verifying_a_real_name_seals_the_name_it_sets():
    citizen = make_citizen(phone="13800000001")

    citizens.verify_real_name(user_id=str(citizen.id), name="周磊",
                              id_number=make_id_number("330381", date(1990, 6, 1), 1, "male"))

    assert is_sealed(stored("users", citizen.id))
    assert User.objects.get(id=citizen.id).name == "周磊"


def test_names_written_in_the_clear_before_are_sealed_once_by_the_backfill():
    citizen = make_citizen(name="placeholder")
    member = make_family_member(citizen, "child", name="placeholder")
    database()["users"].update_one({"_id": citizen.id}, {"$set": {"name": "Zhou Lei"}})
    database()["family_members"].update_one({"_id": member.id}, {"$set": {"name": "Zhou Xiaoyu"}})

    assert User.objects.get(id=citizen.id).name == "Zhou Lei"  # still readable before
    assert name_sealing.seal_names() == 2
    assert name_sealing.seal_names() == 0

    assert is_sealed(stored("users", citizen.id))
    assert FamilyMember.objects.get(id=member.id).name == "Zhou Xiaoyu"
