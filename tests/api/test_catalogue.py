"""The public catalogue through the API: departments, matters, bundles and a citizen's checklist."""
import json

import pytest

from services.catalogue import seed as catalogue_seed
from tests.helpers import make_citizen, make_family_member, make_material


@pytest.fixture(autouse=True)
def seeded():
    catalogue_seed.load_catalogue()


def test_the_newborn_bundle_shows_seven_steps_six_departments_one_form_and_four_materials(client):
    bundle = client.get("/api/v1/bundles/newborn", expect=200).get_json()
    assert bundle["name"] == "A baby is born"
    assert len(bundle["steps"]) == 7
    assert len(bundle["departments"]) == 6
    names = [field["name"] for field in bundle["form"]]
    assert len(names) == len(set(names)) > 10
    assert [m["code"] for m in bundle["materials"]] == [
        "parent_id_card", "birth_registration_form", "household_register", "marriage_certificate"]
    assert bundle["figures"]["before"]["forms"] == 5 and bundle["figures"]["after"]["forms"] == 1
    assert bundle["figures"]["before"]["materials"] == 24
    assert bundle["figures"]["after"]["materials"] == 4
    assert {"from": "newborn_household_registration", "to": "medical_insurance_enrolment"} in \
        bundle["graph"]["edges"]
    registration = next(s for s in bundle["steps"]
                        if s["matter"] == "newborn_household_registration")
    assert registration["department_name"] == "Public Security Bureau"
    assert registration["depends_on"] == ["birth_medical_certificate"]
    assert registration["promised"] == {"value": 15, "unit": "minutes"}


def test_the_bundle_speaks_chinese_when_asked(client):
    bundle = client.get("/api/v1/bundles/newborn", headers={"Accept-Language": "zh-CN"},
                        expect=200).get_json()
    assert bundle["name"] == "新生儿出生一件事"
    assert bundle["names"]["en"] == "A baby is born"
    gender = next(f for f in bundle["form"] if f["name"] == "newborn_gender")
    assert gender["label"] == "新生儿性别" and gender["choice_labels"] == {"male": "男",
                                                                      "female": "女"}


def test_an_unknown_bundle_or_version_is_a_404_in_the_one_error_shape(client):
    missing = client.get("/api/v1/bundles/no_such_thing", expect=404).get_json()
    assert missing["error"] == "bundle_not_found"
    client.get("/api/v1/bundles/newborn?version=7", expect=404)
    client.get("/api/v1/bundles/newborn?version=1", expect=200)


def test_all_eight_bundles_are_listed_and_colloquial_words_find_the_newborn_bundle(client):
    codes = [b["code"] for b in client.get("/api/v1/bundles", expect=200).get_json()]
    assert set(codes) == {"newborn", "kindergarten_admission", "school_enrollment",
                          "marriage_childbearing", "business_deregistration",
                          "vehicle_registration", "farmhouse_construction",
                          "small_shop_registration"}
    for words in ("生孩子", "宝宝出生了要办什么", "二胎", "baby", "I just had a baby"):
        found = client.get("/api/v1/bundles", query_string={"q": words}, expect=200).get_json()
        assert found and found[0]["code"] == "newborn", words
    shop = client.get("/api/v1/bundles", query_string={"q": "开个小卖部"}, expect=200).get_json()
    assert shop[0]["code"] == "small_shop_registration"
    assert client.get("/api/v1/bundles", query_string={"q": "stubborn"}).get_json() == []


def test_departments_are_listed_with_their_matters(client):
    departments = {d["code"]: d for d in client.get("/api/v1/departments",
                                                    expect=200).get_json()}
    assert {"health", "community_health", "public_security", "medical_insurance", "taxation",
            "hrss"} <= set(departments)
    assert departments["public_security"]["name"] == "Public Security Bureau"
    assert departments["public_security"]["matters"] >= 1


def test_matters_are_paginated_with_an_x_pagination_header(client):
    response = client.get("/api/v1/matters", query_string={"page_size": 5}, expect=200)
    pagination = json.loads(response.headers["X-Pagination"])
    assert len(response.get_json()) == 5
    assert pagination["total"] > 30 and pagination["page"] == 1
    second = client.get("/api/v1/matters", query_string={"page_size": 5, "page": 2},
                        expect=200).get_json()
    assert {m["code"] for m in second}.isdisjoint({m["code"] for m in response.get_json()})


def test_matters_are_found_by_chinese_english_synonym_department_and_level(client):
    def codes(**query):
        return [m["code"] for m in client.get("/api/v1/matters", query_string=query,
                                              expect=200).get_json()]

    assert codes(q="户口登记")[0] == "newborn_household_registration"
    assert "newborn_household_registration" in codes(q="household registration")
    assert "newborn_household_registration" in codes(q="上户口")  # a synonym
    assert "newborn_household_registration" in codes(q="戶口")  # traditional characters
    assert "citizen_card" in codes(q="社保卡")
    assert set(codes(department="taxation")) >= {"medical_insurance_payment",
                                                 "vehicle_purchase_tax"}
    assert all(m in codes(level="city") for m in ("motor_vehicle_registration",))
    assert "newborn_household_registration" not in codes(level="city")
    assert codes(q="no such thing at all") == []


def test_matters_are_filtered_by_the_region_they_serve(client):
    ruian = [m["code"] for m in client.get("/api/v1/matters", query_string={
        "region": "330381", "page_size": 100}, expect=200).get_json()]
    hangzhou = [m["code"] for m in client.get("/api/v1/matters", query_string={
        "region": "330100", "page_size": 100}, expect=200).get_json()]
    assert "newborn_household_registration" in ruian and "etc_issuance" in ruian
    assert "motor_vehicle_registration" in ruian  # Wenzhou's, and Ruian is in Wenzhou
    assert "newborn_household_registration" not in hangzhou
    assert "etc_issuance" in hangzhou  # a provincial matter serves the whole province


def test_bad_search_arguments_are_refused(client):
    body = client.get("/api/v1/matters", query_string={"level": "village"},
                      expect=422).get_json()
    assert "level" in body["errors"]
    client.get("/api/v1/matters", query_string={"page_size": 1000}, expect=422)


def test_one_matter_shows_its_fields_materials_outputs_and_bundles(client):
    matter = client.get("/api/v1/matters/newborn_household_registration",
                        expect=200).get_json()
    assert matter["department"] == "public_security"
    assert matter["outputs"][0]["name"] == "citizen_id_number"
    assert matter["outputs"][0]["elicence"] == "household_registration_record"
    assert {m["code"] for m in matter["materials"]} == {"parent_id_card", "household_register",
                                                       "marriage_certificate"}
    assert "newborn_name" in [f["name"] for f in matter["fields"]]
    assert matter["bundles"] == [{"code": "newborn", "name": "A baby is born"}]
    client.get("/api/v1/matters/nothing_like_this", expect=404)


def test_the_checklist_marks_what_the_citizen_already_has_on_file(client):
    citizen = make_citizen()
    make_material(citizen, "parent_id_card")
    make_material(citizen, "marriage_certificate", status="rejected")
    checklist = client.as_(citizen).get("/api/v1/bundles/newborn/checklist",
                                        expect=200).get_json()
    status = {item["code"]: item["status"] for item in checklist["items"]}
    assert status == {"parent_id_card": "on_file", "birth_registration_form": "needed",
                      "household_register": "needed", "marriage_certificate": "needed"}
    assert checklist["on_file"] == 1 and checklist["needed"] == 3
    reused = next(i for i in checklist["items"] if i["code"] == "parent_id_card")
    assert reused["material"]


def test_the_kindergarten_checklist_reuses_e_licences_a_birth_issued(client):
    parent = make_citizen()
    child = make_family_member(parent, "child")
    for type_code in ("household_registration_record", "birth_medical_certificate",
                      "vaccination_certificate"):
        make_material(parent, type_code, kind="elicence", status="verified",
                      subject=str(child.id))
    checklist = client.as_(parent).get(
        "/api/v1/bundles/kindergarten_admission/checklist",
        query_string={"subject": str(child.id)}, expect=200).get_json()
    status = {item["code"]: item["status"] for item in checklist["items"]}
    assert status["household_registration_record"] == "on_file"
    assert status["birth_medical_certificate"] == "on_file"
    assert status["vaccination_certificate"] == "on_file"
    assert status["property_certificate"] == "needed"


def test_someone_elses_vault_never_counts(client):
    other = make_citizen()
    make_material(other, "parent_id_card")
    checklist = client.as_(make_citizen()).get("/api/v1/bundles/newborn/checklist",
                                               expect=200).get_json()
    assert checklist["on_file"] == 0


def test_the_checklist_needs_a_signed_in_citizen(client, as_admin):
    client.get("/api/v1/bundles/newborn/checklist", expect=401)
    as_admin.get("/api/v1/bundles/newborn/checklist", expect=403)


def test_the_bundle_list_carries_each_bundles_figures_after_as_its_page_does(client):
    listed = client.get("/api/v1/bundles", expect=200).get_json()

    for item in listed:
        detail = client.get(f"/api/v1/bundles/{item['code']}", expect=200).get_json()
        assert item["figures_after"] == detail["figures"]["after"], item["code"]
        assert item["departments"] == len(detail["departments"]), item["code"]
    newborn = next(b for b in listed if b["code"] == "newborn")
    assert (newborn["departments"], newborn["figures_after"]["forms"],
            newborn["figures_after"]["materials"]) == (6, 1, 4)
