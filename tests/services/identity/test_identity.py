"""Who is who: resident ID numbers, citizens, family and who may act for whom, staff accounts."""
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from common import calendar
from models.catalogue import Department
from models.family import FamilyMember
from models.user import User
from services.errors import InvalidState, ValidationFailed
from services.identity import citizens, family_members, numbers, staff_accounts
from tests.helpers import make_citizen, make_family_member


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x",
                                    "440524198001010013"])
def test_valid_resident_id_numbers_give_their_birth_date(number):
    assert numbers.validate_id_number(number) in {date(1949, 12, 31), date(1980, 1, 1)}


@pytest.mark.parametrize("number", [
    "110105194912310021",   # wrong check character
    "11010519491331002X",   # month 13
    "000105194912310020",   # no such province
    "1101051949123100",     # too short
    "440524188001010014",   # born 1880: not a living resident
    "",
])
def test_invalid_resident_id_numbers_are_refused(number):
    with pytest.raises(ValidationFailed) as refused:
        numbers.validate_id_number(number)
    assert "id_number" in refused.value.errors


def test_made_id_numbers_validate_and_carry_the_gender():
    born = date(2026, 3, 1)
    boy = numbers.make_id_number("330381", born, 7, "male")
    girl = numbers.make_id_number("330381", born, 7, "female")
    assert numbers.validate_id_number(boy) == numbers.validate_id_number(girl) == born
    assert numbers.id_number_gender(boy) == "male" and numbers.id_number_gender(girl) == "female"
    assert boy[:6] == "330381" and boy != girl
    with pytest.raises(ValueError):
        numbers.make_id_number("990381", born, 1, "male")
    with pytest.raises(ValueError):
        numbers.make_id_number("330381", born, 500, "male")


def test_a_birth_date_in_the_future_is_refused_by_the_service_s_own_calendar():
    tomorrow = calendar.today() + timedelta(days=1)
    first17 = f"330381{tomorrow:%Y%m%d}001"
    with pytest.raises(ValidationFailed):
        numbers.validate_id_number(first17 + numbers.id_check_character(first17))
    # Born today in Ruian is not "in the future", whatever the date is in UTC.
    today = calendar.today()
    first17 = f"330381{today:%Y%m%d}001"
    assert numbers.validate_id_number(first17 + numbers.id_check_character(first17)) == today


def test_simultaneous_first_sign_ins_create_one_account(app):
    users, errors = [], []

    def sign_in():
        with app.app_context():
            try:
                users.append(citizens.find_or_create_citizen(phone="13800138000").id)
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=sign_in) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(users) == 6 and len(set(users)) == 1 and User.objects.count() == 1


def test_a_citizen_may_act_for_themself_and_their_minor_children_only():
    parent, stranger = make_citizen(), make_citizen()
    baby = make_family_member(parent, "child")
    grown = make_family_member(parent, "child", birth_date=date(1990, 1, 1))
    spouse = make_family_member(parent, "spouse", birth_date=date(1990, 1, 1))
    strangers_child = make_family_member(stranger, "child")
    allowed = {str(parent.id), str(baby.id)}
    for subject in [parent.id, baby.id, grown.id, spouse.id, strangers_child.id, stranger.id,
                    "not-an-id", "000000000000000000000000"]:
        assert family_members.may_act_for(user_id=parent.id, subject_id=subject) == (
            str(subject) in allowed), subject
    assert set(family_members.subject_ids_for(parent.id)) == allowed


def test_both_parents_may_act_for_their_child_through_either_linked_entry_only():
    child_id = numbers.make_id_number("330381", date(2025, 5, 1), 3, "male")
    mother, father = make_citizen(), make_citizen()
    mothers_entry = make_family_member(mother, "child", id_number=child_id,
                                       linked_owners=[str(father.id)])
    fathers_entry = make_family_member(father, "child", id_number=child_id,
                                       linked_owners=[str(mother.id)], linked_citizen=True)
    teenager_account = make_citizen(id_number=child_id)
    for subject in (mothers_entry.id, fathers_entry.id, teenager_account.id):
        assert family_members.may_act_for(user_id=father.id, subject_id=subject)
    assert str(mothers_entry.id) in family_members.subject_ids_for(father.id)
    assert not family_members.may_act_for(user_id=make_citizen().id, subject_id=mothers_entry.id)
    # The same number in a third family, linked by nobody: it shares nothing either way.
    strangers_entry = make_family_member(make_citizen(), "child", id_number=child_id)
    assert not family_members.may_act_for(user_id=strangers_entry.owner,
                                          subject_id=mothers_entry.id)
    assert not family_members.may_act_for(user_id=strangers_entry.owner,
                                          subject_id=teenager_account.id)
    assert not family_members.may_act_for(user_id=father.id, subject_id=strangers_entry.id)
    assert not family_members.may_act_for(user_id=mother.id, subject_id=teenager_account.id)


def test_a_child_turning_eighteen_is_no_longer_acted_for():
    parent = make_citizen()
    today = datetime.now(UTC).date()
    eighteen_today = make_family_member(parent, "child",
                                        birth_date=today.replace(year=today.year - 18)
                                        if not (today.month == 2 and today.day == 29)
                                        else date(today.year - 18, 2, 28))
    assert not family_members.may_act_for(user_id=parent.id, subject_id=eighteen_today.id)


def test_a_newborns_issued_id_number_is_recorded_once():
    parent = make_citizen()
    baby = make_family_member(parent, "child")
    number = numbers.make_id_number("330381", baby.birth_date, 11, "female")
    family_members.set_family_member_id_number(owner_id=parent.id, member_id=str(baby.id),
                                         id_number=number)
    family_members.set_family_member_id_number(owner_id=parent.id, member_id=str(baby.id),
                                               id_number=number)
    again = FamilyMember.objects.get(id=baby.id)
    assert citizens.id_number_of(again) == number and again.gender == "female"
    with pytest.raises(InvalidState):
        family_members.set_family_member_id_number(
            owner_id=parent.id, member_id=str(baby.id),
            id_number=numbers.make_id_number("330381", baby.birth_date, 12, "female"))


def test_staff_accounts_need_their_post_and_a_long_enough_password():
    Department(code="public_security", name={"zh-CN": "公安", "en": "Public security"},
               regions=["330381"]).save()
    officer = staff_accounts.create_staff(username="Officer.PS", password="long-enough-1",
                                    role="officer", department="public_security",
                                    region="330381")
    assert officer.username == "officer.ps" and officer.password_hash.startswith("$argon2id$")
    cases = [
        ({"role": "officer"}, "department"),
        ({"role": "officer", "department": "no_such_department"}, "department"),
        ({"role": "officer", "department": "public_security"}, "region"),
        # Shangcheng has no police in this catalogue: nobody could work its tasks there.
        ({"role": "officer", "department": "public_security", "region": "330102"}, "region"),
        ({"role": "clerk"}, "station"),
        ({"role": "admin", "password": "short"}, "password"),
        ({"role": "citizen"}, "role"),
        ({"role": "admin", "username": "has spaces"}, "username"),
    ]
    for fields, field in cases:
        arguments = {"username": "someone", "password": "long-enough-1", **fields}
        with pytest.raises(ValidationFailed) as refused:
            staff_accounts.create_staff(**arguments)
        assert field in refused.value.errors, fields
    with pytest.raises(InvalidState):
        staff_accounts.create_staff(username="officer.ps", password="long-enough-1", role="admin")
