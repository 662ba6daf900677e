"""The vault's rules: what is on file, which given materials an application may use, e-licences."""
from datetime import UTC, datetime, timedelta

import pytest

from common.i18n import current_locale
from models.material import Material
from services.errors import ValidationFailed
from services.materials import vault
from tests.helpers import make_citizen, make_material


def days(n: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=n)


def elicence(owner, type="birth_medical_certificate", subject="child-1", task="task-1", **kw):
    return vault.issue_elicence(owner_id=str(owner.id), subject_id=subject, type=type,
                                issuer=kw.pop("issuer", "health"), number=kw.pop("number", None),
                                application_id=kw.pop("application_id", "app-1"), task_id=task,
                                **kw)


def test_on_file_finds_a_usable_material_of_each_type_asked(citizen):
    card = make_material(citizen, "parent_id_card")
    register = make_material(citizen, "household_register")
    make_material(citizen, "marriage_certificate")

    found = vault.on_file(owner_id=str(citizen.id),
                          types=["parent_id_card", "household_register", "birth_registration_form"])

    assert found == {"parent_id_card": str(card.id), "household_register": str(register.id)}


def test_on_file_ignores_rejected_expired_and_lapsed_materials(citizen):
    make_material(citizen, "parent_id_card", status="rejected")
    make_material(citizen, "household_register", status="expired")
    make_material(citizen, "marriage_certificate", valid_until=days(-1))

    found = vault.on_file(owner_id=str(citizen.id), types=[
        "parent_id_card", "household_register", "marriage_certificate"])

    assert found == {}


def test_on_file_never_looks_into_another_citizens_vault(citizen):
    make_material(make_citizen(), "parent_id_card")

    assert vault.on_file(owner_id=str(citizen.id), types=["parent_id_card"]) == {}


def test_on_file_prefers_a_verified_material_over_a_newer_unverified_one(citizen):
    verified = make_material(citizen, "parent_id_card", status="verified",
                             created_at=days(-10))
    make_material(citizen, "parent_id_card")

    found = vault.on_file(owner_id=str(citizen.id), types=["parent_id_card"])

    assert found == {"parent_id_card": str(verified.id)}


def test_on_file_prefers_an_elicence_over_an_upload_of_the_same_type(citizen):
    make_material(citizen, "birth_medical_certificate", subject="child-1")
    issued = elicence(citizen)

    found = vault.on_file(owner_id=str(citizen.id), types=["birth_medical_certificate"])

    assert found == {"birth_medical_certificate": str(issued.id)}


def test_on_file_for_a_subject_skips_materials_about_someone_else(citizen):
    first_child = elicence(citizen, subject="child-1", task="t1")
    own_card = make_material(citizen, "parent_id_card")

    for_second = vault.on_file(owner_id=str(citizen.id), subject_id="child-2",
                               types=["birth_medical_certificate", "parent_id_card"])
    for_first = vault.on_file(owner_id=str(citizen.id), subject_id="child-1",
                              types=["birth_medical_certificate", "parent_id_card"])

    assert for_second == {"parent_id_card": str(own_card.id)}
    assert for_first == {"birth_medical_certificate": str(first_child.id),
                         "parent_id_card": str(own_card.id)}


def test_resolve_returns_the_owners_materials_in_the_order_given(citizen):
    card = make_material(citizen, "parent_id_card")
    register = make_material(citizen, "household_register")

    resolved = vault.resolve_for_application(
        owner_id=str(citizen.id), material_ids=[str(register.id), str(card.id), str(card.id)],
        allowed_types=["parent_id_card", "household_register"])

    assert [m.id for m in resolved] == [register.id, card.id]


def test_resolve_names_every_bad_id_and_changes_nothing(citizen):
    good = make_material(citizen, "parent_id_card")
    rejected = make_material(citizen, "household_register", status="rejected")
    not_asked = make_material(citizen, "vehicle_licence")
    someone_elses = make_material(make_citizen(), "parent_id_card")
    ids = [str(good.id), str(rejected.id), str(not_asked.id), str(someone_elses.id), "nonsense"]

    with pytest.raises(ValidationFailed) as caught:
        vault.resolve_for_application(owner_id=str(citizen.id), material_ids=ids,
                                      allowed_types=["parent_id_card", "household_register"])

    problems = caught.value.errors["materials"]
    assert caught.value.error == "invalid_materials"
    assert len(problems) == 4
    for bad in ids[1:]:
        assert any(bad in problem for problem in problems), bad
    assert not any(str(good.id) in problem for problem in problems)
    assert Material.objects(id=good.id).first().status == "uploaded"


@pytest.fixture
def english():
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def test_resolve_refuses_an_elicence_past_its_validity(citizen, english):
    lapsed = elicence(citizen, type="citizen_card", valid_until=days(-1))

    with pytest.raises(ValidationFailed) as caught:
        vault.resolve_for_application(owner_id=str(citizen.id), material_ids=[str(lapsed.id)],
                                      allowed_types=None)

    assert "expired" in caught.value.errors["materials"][0]


def test_issuing_an_elicence_puts_it_in_the_applicants_vault_about_the_child(citizen):
    issued = elicence(citizen, type="household_registration_record", issuer="public_security",
                      number="330381202401010018", subject="child-9", valid_until=days(365))

    stored = Material.objects.get(id=issued.id)
    assert stored.owner == str(citizen.id)
    assert stored.subject == "child-9"
    assert stored.kind == "elicence"
    assert stored.status == "verified"
    assert stored.issuer == "public_security"
    assert vault.licence_number(stored) == "330381202401010018"
    assert "330381202401010018" not in str(Material._get_collection().find_one({"_id": issued.id}))


def test_an_elicences_id_is_known_before_it_is_issued(citizen):
    expected = vault.elicence_id(task_id="task-5", type="birth_medical_certificate")

    issued = elicence(citizen, task="task-5")

    assert str(issued.id) == expected
    assert expected != vault.elicence_id(task_id="task-5", type="vaccination_certificate")


def test_issuing_the_same_elicence_twice_for_one_task_keeps_one(citizen):
    first = elicence(citizen, task="task-7", number="P1")
    again = elicence(citizen, task="task-7", number="P2")
    other_task = elicence(citizen, task="task-8", number="P3")

    assert again.id == first.id
    assert vault.licence_number(again) == "P1"
    assert other_task.id != first.id
    assert Material.objects(owner=str(citizen.id)).count() == 2
