"""Maintaining the catalogue: every bad definition refused with its problem named, every change
published as a new version while applications keep the one they were made with."""
import pytest

from common.i18n import current_locale
from models.catalogue import BundleVersion, Matter
from services.catalogue import admin as catalogue_admin
from services.catalogue import publishing
from services.catalogue import search as catalogue_search
from services.catalogue import seed as catalogue_seed
from services.errors import InvalidState, NotFound, ValidationFailed


@pytest.fixture(autouse=True)
def seeded():
    catalogue_seed.load_catalogue()


@pytest.fixture(autouse=True)
def english():
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def matter(code, *, department="health", fields=(), inputs=(), outputs=(), materials=()):
    return {"code": code, "name": {"zh-CN": f"事项{code}", "en": f"Matter {code}"},
            "department": department, "level": "county", "region": "330381",
            "fields": list(fields), "inputs": list(inputs), "materials": list(materials),
            "outputs": [{"name": o, "label": {"zh-CN": o, "en": o}} for o in outputs],
            "promised": {"value": 1, "unit": "working_days"}}


def text_field(name, **extra):
    return {"name": name, "type": "string", "label": {"zh-CN": name, "en": name}, **extra}


def bundle(code, steps, **extra):
    return {"code": code, "name": {"zh-CN": f"一件事{code}", "en": f"Bundle {code}"},
            "steps": [{"matter": m, "depends_on": list(d)} for m, d in steps], **extra}


def problems(exc_info) -> dict:
    return exc_info.value.errors


def test_a_bundle_of_an_unknown_matter_is_refused_naming_it():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("odd", [("birth_medical_certificate", []),
                                                          ("teleportation_permit", [])]))
    assert any("teleportation_permit" in m for m in problems(refused)["steps"])


def test_a_dependency_cycle_is_refused_with_the_cycle_spelled_out():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("loop", [
            ("birth_medical_certificate", ["citizen_card"]),
            ("newborn_household_registration", ["birth_medical_certificate"]),
            ("medical_insurance_enrolment", ["newborn_household_registration"]),
            ("citizen_card", ["medical_insurance_enrolment"])]))
    (message,) = problems(refused)["depends_on"]
    assert "cycle" in message.lower() and "citizen_card" in message
    assert "birth_medical_certificate" in message


def test_an_input_no_upstream_matter_outputs_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("no_id", [
            ("medical_insurance_enrolment", []), ("vaccination_certificate", [])]))
    (message,) = problems(refused)["inputs"]
    assert "medical_insurance_enrolment" in message and "citizen_id_number" in message


def test_an_output_of_a_matter_that_is_not_upstream_does_not_count():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("parallel", [
            ("birth_medical_certificate", []),
            ("newborn_household_registration", ["birth_medical_certificate"]),
            ("medical_insurance_enrolment", [])]))
    (message,) = problems(refused)["inputs"]
    assert "newborn_household_registration" in message and "does not depend" in message


def test_two_matters_defining_one_field_differently_are_refused():
    catalogue_admin.create_matter(data=matter("pet_licence", fields=[
        {"name": "newborn_birth_date", "type": "string",
         "label": {"zh-CN": "出生", "en": "Birth"}}]))
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("clash", [
            ("birth_medical_certificate", []), ("pet_licence", [])]))
    (message,) = problems(refused)["fields"]
    assert "newborn_birth_date" in message and "pet_licence" in message and "type" in message


def test_a_matter_needs_a_known_department_and_known_material_types():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_matter(data=matter("ghost", department="ministry_of_magic",
                                                  materials=["unicorn_hair"]))
    assert "ministry_of_magic" in problems(refused)["department"][0]
    assert "unicorn_hair" in problems(refused)["materials"][0]
    assert not Matter.objects(code="ghost").count()


def test_a_choice_field_without_choices_and_a_bad_pattern_are_refused():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_matter(data=matter("sloppy", fields=[
            {"name": "colour", "type": "choice", "label": {"zh-CN": "颜色", "en": "Colour"}},
            text_field("code_word", pattern="(unclosed")]))
    assert problems(refused)["fields.colour"] and problems(refused)["fields.code_word"]


def test_a_matter_code_is_taken_once():
    with pytest.raises(InvalidState) as taken:
        catalogue_admin.create_matter(data=matter("citizen_card"))
    assert taken.value.error == "matter_exists"


def test_a_new_bundle_is_published_as_version_one_and_searchable_at_once():
    catalogue_admin.create_matter(data=matter("dog_registration", outputs=["dog_tag_number"],
                                              fields=[text_field("dog_name", required=True)]))
    catalogue_admin.create_matter(data=matter("dog_vaccination", department="community_health",
                                              inputs=["dog_tag_number"],
                                              fields=[text_field("dog_name")]))
    published = catalogue_admin.create_bundle(data=bundle("new_dog", [
        ("dog_registration", []), ("dog_vaccination", ["dog_registration"])],
        synonyms=["养狗", "puppy"]))
    assert published["version"] == 1
    assert published["form"] == [dict(published["form"][0], name="dog_name", required=True,
                                      matters=["dog_registration", "dog_vaccination"])]
    assert catalogue_search.match_bundles("我家新养了一只狗，养狗要办什么")[0][0] == "new_dog"
    items, total = catalogue_search.search_matters(q="dog")
    assert total == 2


def test_changing_a_matter_publishes_new_versions_and_keeps_the_old_ones():
    before = publishing.compiled_bundle("newborn")
    catalogue_admin.update_matter(code="citizen_card", changes={
        "fields": [{"name": "newborn_name", "type": "string", "required": True,
                    "label": {"zh-CN": "新生儿姓名", "en": "Baby's name"},
                    "prefill": "subject.name"},
                   text_field("card_photo_consent", required=True)]})
    after = publishing.compiled_bundle("newborn")
    assert after["version"] == before["version"] + 1
    assert "card_photo_consent" in [f["name"] for f in after["form"]]
    old = publishing.compiled_bundle("newborn", version=before["version"])
    assert "card_photo_consent" not in [f["name"] for f in old["form"]]
    assert Matter.objects.get(code="citizen_card").version == 2


def test_a_change_that_would_break_a_bundle_is_refused_naming_the_bundle():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.update_matter(code="newborn_household_registration",
                                      changes={"outputs": []})
    messages = problems(refused)["inputs"]
    assert all(m.startswith("newborn: ") and "citizen_id_number" in m for m in messages)
    assert any("medical_insurance_enrolment" in m for m in messages)
    assert publishing.compiled_bundle("newborn")["version"] == 1
    assert Matter.objects.get(code="newborn_household_registration").outputs


def test_a_change_that_changes_nothing_publishes_nothing():
    catalogue_admin.update_bundle(code="newborn", changes={"visits_after": 0})
    assert BundleVersion.objects(bundle="newborn").count() == 1
    changed = catalogue_admin.update_bundle(code="newborn", changes={"synonyms": ["生娃"]})
    assert changed["version"] == 2


def test_a_matter_in_use_cannot_be_retired_until_no_bundle_uses_it():
    with pytest.raises(InvalidState) as in_use:
        catalogue_admin.retire_matter(code="vaccination_certificate")
    assert in_use.value.error == "matter_in_use" and "newborn" in in_use.value.en
    catalogue_admin.update_bundle(code="newborn", changes={"steps": [
        {"matter": s["matter"], "depends_on": s["depends_on"]}
        for s in publishing.compiled_bundle("newborn")["steps"]
        if s["matter"] != "vaccination_certificate"]})
    retired = catalogue_admin.retire_matter(code="vaccination_certificate")
    assert retired["retired"] is True
    with pytest.raises(NotFound):
        publishing.matter_detail("vaccination_certificate")
    assert "vaccination_certificate" not in [
        m["code"] for m in catalogue_search.search_matters(q="接种证")[0]]


def test_a_retired_bundle_is_no_longer_offered_but_its_versions_remain():
    catalogue_admin.retire_bundle(code="vehicle_registration")
    with pytest.raises(NotFound):
        publishing.compiled_bundle("vehicle_registration")
    assert publishing.compiled_bundle("vehicle_registration", version=1)["code"] == \
        "vehicle_registration"
    assert "vehicle_registration" not in [b["code"] for b in catalogue_search.search_bundles()]
    with pytest.raises(NotFound):
        catalogue_admin.update_bundle(code="vehicle_registration", changes={"visits_after": 0})


def test_a_reseed_leaves_an_admins_edit_alone():
    catalogue_admin.update_bundle(code="newborn", changes={"synonyms": ["生娃"]})
    catalogue_seed.load_catalogue()
    assert publishing.compiled_bundle("newborn")["synonyms"] == ["生娃"]


def test_a_bundle_about_a_newborn_needs_the_newborn_s_name_and_birth_date_in_its_form():
    with pytest.raises(ValidationFailed) as refused:
        catalogue_admin.create_bundle(data=bundle("cards", [("citizen_card", [])],
                                                  subject="newborn"))
    assert "newborn" in problems(refused)["subject"][0]

    made = catalogue_admin.create_bundle(data=bundle("certificate", [
        ("birth_medical_certificate", [])], subject="newborn"))
    assert publishing.compiled_bundle(made["code"])["subject"] == "newborn"
