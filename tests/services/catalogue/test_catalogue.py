"""Compiling bundles: the newborn bundle as the article tells it, and every seeded bundle."""
import pytest

from common.i18n import current_locale
from models.catalogue import Bundle, BundleVersion, Matter
from services.catalogue import publishing
from services.catalogue import seed as catalogue_seed
from services.errors import NotFound

NEWBORN_MATTERS = {"birth_medical_certificate", "vaccination_certificate",
                   "newborn_household_registration", "medical_insurance_enrolment",
                   "medical_insurance_payment", "citizen_card", "maternity_insurance_benefit"}


@pytest.fixture
def seeded():
    catalogue_seed.load_catalogue()


@pytest.fixture
def english():
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def test_newborn_has_seven_matters_of_six_departments_in_dependency_order(seeded):
    bundle = publishing.compiled_bundle("newborn")
    order = [step["matter"] for step in bundle["steps"]]
    assert set(order) == NEWBORN_MATTERS and len(order) == 7
    assert {d["code"] for d in bundle["departments"]} == {
        "health", "community_health", "public_security", "medical_insurance", "taxation", "hrss"}
    for step in bundle["steps"]:
        assert all(order.index(up) < order.index(step["matter"]) for up in step["depends_on"])
    depends = {step["matter"]: step["depends_on"] for step in bundle["steps"]}
    assert depends["newborn_household_registration"] == ["birth_medical_certificate"]
    assert depends["medical_insurance_enrolment"] == ["newborn_household_registration"]
    assert depends["medical_insurance_payment"] == ["medical_insurance_enrolment"]
    assert depends["citizen_card"] == ["medical_insurance_enrolment"]
    assert depends["maternity_insurance_benefit"] == ["birth_medical_certificate"]
    assert depends["vaccination_certificate"] == []


def test_newborn_household_registration_issues_the_citizen_id_number_within_15_minutes(seeded):
    steps = {s["matter"]: s for s in publishing.compiled_bundle("newborn")["steps"]}
    registration = steps["newborn_household_registration"]
    assert registration["department"] == "public_security"
    assert registration["promised"] == {"value": 15, "unit": "minutes"}
    (output,) = registration["outputs"]
    assert output["name"] == "citizen_id_number"
    assert output["elicence"] == "household_registration_record"
    assert output["pattern"] == r"^\d{17}[\dX]$"
    assert "citizen_id_number" in steps["medical_insurance_enrolment"]["inputs"]
    assert steps["birth_medical_certificate"]["outputs"][0]["elicence"] == \
        "birth_medical_certificate"
    assert steps["citizen_card"]["outputs"][0]["elicence"] == "citizen_card"
    assert steps["medical_insurance_payment"]["department"] == "taxation"


def test_newborn_joint_form_asks_each_field_once_with_the_matters_that_use_it(seeded):
    form = publishing.compiled_bundle("newborn")["form"]
    names = [field["name"] for field in form]
    assert len(names) == len(set(names))
    by_name = {field["name"]: field for field in form}
    assert set(by_name["newborn_name"]["matters"]) >= {"birth_medical_certificate",
                                                        "newborn_household_registration"}
    assert by_name["applicant_id_number"]["prefill"] == "applicant.id_number"
    assert by_name["spouse_id_number"]["prefill"] == "spouse.id_number"
    assert by_name["bank_account"]["matters"] == ["medical_insurance_payment",
                                                  "maternity_insurance_benefit"]
    # Outputs of upstream matters flow to their dependents: never asked of the citizen.
    assert "citizen_id_number" not in by_name and "birth_certificate_number" not in by_name


def test_newborn_asks_four_materials_instead_of_twenty_four(seeded):
    bundle = publishing.compiled_bundle("newborn")
    assert [m["code"] for m in bundle["materials"]] == [
        "parent_id_card", "birth_registration_form", "household_register", "marriage_certificate"]
    assert bundle["figures"]["before"]["forms"] == 5
    assert bundle["figures"]["before"]["materials"] == 24
    assert bundle["figures"]["after"] == {"forms": 1, "materials": 4, "departments": 6,
                                          "matters": 7, "visits": 0}


def test_names_come_in_the_callers_language(seeded, english):
    bundle = publishing.compiled_bundle("newborn")
    assert bundle["name"] == "A baby is born"
    assert bundle["names"]["zh-CN"] == "新生儿出生一件事"
    assert bundle["steps"][0]["department_name"] == "Health Commission"
    token = current_locale.set("zh-CN")
    try:
        assert publishing.compiled_bundle("newborn")["steps"][0]["department_name"] == "卫生健康局"
    finally:
        current_locale.reset(token)


def test_every_seeded_bundle_compiles_with_enough_matters_and_departments(seeded):
    codes = [b.code for b in Bundle.objects]
    assert set(codes) >= {"newborn", "kindergarten_admission", "school_enrollment",
                          "marriage_childbearing", "business_deregistration",
                          "vehicle_registration", "farmhouse_construction",
                          "small_shop_registration"}
    for code in codes:
        bundle = publishing.publish_bundle_version(code)
        assert len(bundle["steps"]) >= 3, code
        assert len(bundle["departments"]) >= 2, code
        assert bundle["figures"]["before"], code
        assert bundle["names"]["zh-CN"] and bundle["names"]["en"], code


def test_loading_the_catalogue_twice_changes_nothing(seeded):
    again = catalogue_seed.load_catalogue()
    assert not any(again.values())
    assert BundleVersion.objects(bundle="newborn").count() == 1


def test_an_unknown_bundle_is_not_found(seeded):
    with pytest.raises(NotFound):
        publishing.compiled_bundle("no_such_thing")
    with pytest.raises(NotFound):
        publishing.compiled_bundle("newborn", version=99)


def test_the_load_command_seeds_the_catalogue(app):
    result = app.test_cli_runner().invoke(args=["catalogue", "load"])
    assert result.exit_code == 0, result.output
    assert "catalogue loaded" in result.output
    assert publishing.compiled_bundle("newborn")["code"] == "newborn"


def test_the_generate_command_builds_main_items_and_their_sub_items_at_three_levels(app):
    result = app.test_cli_runner().invoke(args=["catalogue", "generate", "--main", "40",
                                                "--sub", "60"])
    assert result.exit_code == 0, result.output
    assert "total 100" in result.output

    generated = Matter.objects(generated=True)
    assert generated.count() == 100
    mains = {m.code for m in generated if not m.parent}
    assert len(mains) == 40
    assert all(m.parent in mains for m in generated if m.parent)
    assert {m.level for m in generated} == {"province", "city", "county"}
    assert all(m.name["zh-CN"] and m.name["en"] for m in generated)


def test_school_and_kindergarten_ask_for_e_licences_a_birth_already_issued(seeded):
    newborn = publishing.compiled_bundle("newborn")
    issued = {o["elicence"] for s in newborn["steps"] for o in s["outputs"] if o["elicence"]}
    for code in ("kindergarten_admission", "school_enrollment"):
        asked = {m["code"]: m for m in publishing.compiled_bundle(code)["materials"]}
        reused = issued & set(asked)
        assert reused >= {"household_registration_record", "birth_medical_certificate",
                          "vaccination_certificate"}, code
        assert all(asked[t]["issued_by"] for t in reused)


def test_a_bundle_that_needs_the_citizen_in_person_says_one_visit(seeded):
    assert publishing.compiled_bundle("vehicle_registration")["figures"]["after"]["visits"] == 1
    assert publishing.compiled_bundle("small_shop_registration")["figures"]["after"]["visits"] == 0
