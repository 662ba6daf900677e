"""Regions through the API: the divisions, where a citizen lives and applies, routing by level,
departments a region lacks, the default region, and bad codes named in the one error shape."""
import pytest

from models.application import Application
from services.catalogue import departments
from tests import workflow_support as ws
from tests.helpers import make_material, make_officer

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def newborn_body(parent, **extra) -> dict:
    return {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": ws.newborn_materials(parent), **extra}


# ── The divisions ────────────────────────────────────────────────────────────────────────────

def test_the_regions_are_the_province_its_cities_and_counties_in_the_readers_language(client):
    regions = client.get("/api/v1/regions", expect=200).get_json()
    assert len(regions) == 102
    ruian = next(r for r in regions if r["code"] == "330381")
    assert ruian == {"code": "330381", "name": "Ruian City", "parent": "330300",
                     "level": "county", "names": {"zh-CN": "瑞安市", "en": "Ruian City"}}
    chinese = client.get("/api/v1/regions", query_string={"level": "city"},
                         headers={"Accept-Language": "zh-CN"}, expect=200).get_json()
    assert len(chinese) == 11 and chinese[0] == {
        "code": "330100", "name": "杭州市", "parent": "330000", "level": "city",
        "names": {"zh-CN": "杭州市", "en": "Hangzhou City"}}
    wenzhou = client.get("/api/v1/regions", query_string={"parent": "330300"},
                         expect=200).get_json()
    assert "330381" in [r["code"] for r in wenzhou] and len(wenzhou) == 12


@pytest.mark.parametrize("call", [
    ("GET", "/api/v1/regions?parent=330199", None),
    ("GET", "/api/v1/regions?level=village", None),
    ("GET", "/api/v1/bundles/newborn?region=330103", None),  # merged away in 2021
    ("GET", "/api/v1/departments?region=123456", None),
])
def test_an_unknown_region_anywhere_is_422_naming_the_field(client, call):
    method, url, body = call
    refused = client.request(method, url, json=body, expect=422).get_json()
    assert refused["error"] == "validation_failed"
    assert set(refused["errors"]) in ({"region"}, {"parent"}, {"level"})


def test_a_citizen_says_where_they_live_a_county_and_nothing_else(as_citizen):
    me = as_citizen.patch("/api/v1/me", json={"region": "330102"}, expect=200).get_json()
    assert (me["region"], me["region_name"]) == ("330102", "Shangcheng District")
    for wrong in ("330199", "330100", "33010", 330102):
        refused = as_citizen.patch("/api/v1/me", json={"region": wrong}, expect=422).get_json()
        assert list(refused["errors"]) == ["region"], wrong
    chinese = as_citizen.patch("/api/v1/me", json={"region": "330100"},
                               headers={"Accept-Language": "zh-CN"}, expect=422).get_json()
    assert "县级" in chinese["errors"]["region"][0]
    assert as_citizen.get("/api/v1/me", expect=200).get_json()["region"] == "330102"
    assert as_citizen.patch("/api/v1/me", json={"region": None},
                            expect=200).get_json()["region"] is None


# ── Where an application is made ─────────────────────────────────────────────────────────────

def test_a_citizen_who_chose_no_region_applies_in_the_default_region(client):
    parent = ws.make_parent()
    made = client.as_(parent).post(APPLICATIONS, json=newborn_body(parent),
                                   headers={"Idempotency-Key": "k"}, expect=201).get_json()
    assert made["region"] == "330381" and made["region_name"] == "Ruian City"
    assert {t["region"] for t in made["tasks"]} == {"330381"}


def test_the_body_may_name_another_region_than_where_the_citizen_lives(client):
    parent = ws.make_parent(region="330381")
    made = client.as_(parent).post(APPLICATIONS, json=newborn_body(parent, region="330102"),
                                   headers={"Idempotency-Key": "k"}, expect=201).get_json()
    assert made["region"] == "330102"
    refused = client.as_(parent).post(APPLICATIONS, json=newborn_body(parent, region="330199"),
                                      headers={"Idempotency-Key": "k2"}, expect=422).get_json()
    assert list(refused["errors"]) == ["region"]
    assert Application.objects.count() == 1


def test_in_production_a_citizen_without_a_region_is_asked_for_one(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "DEFAULT_REGION", "")
    parent = ws.make_parent()
    refused = client.as_(parent).post(APPLICATIONS, json=newborn_body(parent),
                                      headers={"Idempotency-Key": "k", "Accept-Language":
                                               "zh-CN"}, expect=422).get_json()
    assert refused["error"] == "region_required" and "办理地" in refused["errors"]["region"][0]
    assert Application.objects.count() == 0
    made = client.as_(parent).post(APPLICATIONS, json=newborn_body(parent, region="330102"),
                                   headers={"Idempotency-Key": "k"}, expect=201).get_json()
    assert made["region"] == "330102"


def test_a_region_lacking_a_department_refuses_the_application_naming_it_and_the_matter(client):
    departments.remove_region("hrss", "330102")
    parent = ws.make_parent(region="330102")
    body = newborn_body(parent)
    refused = client.as_(parent).post(APPLICATIONS, json=body,
                                      headers={"Idempotency-Key": "k"}, expect=422).get_json()
    assert refused["error"] == "department_not_in_region"
    [why] = refused["errors"]["region"]
    assert "Shangcheng District" in why and "Human Resources and Social Security Bureau" in why
    assert "hrss" in why and "citizen_card" in why
    assert Application.objects.count() == 0  # never an application nobody can work
    # Once Shangcheng has the department again, the same key applies.
    departments.add_regions({"hrss": ["330102"]})
    client.as_(parent).post(APPLICATIONS, json=body, headers={"Idempotency-Key": "k"},
                            expect=201)


def test_city_and_province_matters_go_to_the_city_and_the_province_above_the_county(client):
    parent = ws.make_parent()
    plan = client.get("/api/v1/bundles/vehicle_registration", query_string={"region": "330381"},
                      expect=200).get_json()
    where = {s["matter"]: s["region"] for s in plan["steps"]}
    assert where == {"vehicle_purchase_tax": "330381", "vehicle_vessel_tax": "330381",
                     "motor_vehicle_inspection": "330300", "motor_vehicle_registration": "330300",
                     "etc_issuance": "330000"}
    materials = [str(make_material(parent, m["code"]).id) for m in plan["materials"]
                 if not m.get("issued_by")]
    form = {"vin": "LSVAU2180N2123456", "vehicle_model": "BYD Qin PLUS", "purchase_price": 99800,
            "inspection_site": "Ruian vehicle office", "plate_selection": "random",
            "bank_account": "6222020200112233445", "bank_name": "ICBC",
            "mailing_address": "1 Wansong Road, Ruian"}
    made = client.as_(parent).post(APPLICATIONS, headers={"Idempotency-Key": "car"}, json={
        "bundle": "vehicle_registration", "form": form, "materials": materials},
        expect=201).get_json()
    inspection = next(t for t in made["tasks"] if t["matter"] == "motor_vehicle_inspection")
    assert inspection["region"] == "330300" and inspection["region_name"] == "Wenzhou City"
    wenzhou, ruian, hangzhou = (client.as_(make_officer("public_security", region=r))
                                for r in ("330300", "330381", "330100"))
    assert inspection["id"] in [t["id"] for t in wenzhou.get(TASKS, expect=200).get_json()]
    wenzhou.post(f"{TASKS}/{inspection['id']}/claim", expect=200)
    for elsewhere in (ruian, hangzhou):
        assert elsewhere.get(TASKS, expect=200).get_json() == []
        elsewhere.get(f"{TASKS}/{inspection['id']}", expect=404)


def test_a_station_applies_in_its_own_region(client, as_clerk):
    from tests.api.test_stations import apply, consent, scan_all

    clerk = as_clerk("shangcheng-hospital", region="330102")
    token = consent(clerk, "13957720999")
    scan_all(clerk, token)

    made = apply(clerk, token).json

    assert made["region"] == "330102"
    assert {t["region"] for t in made["tasks"]} == {"330102"}


# ── The bundle page of a region (实施清单) ─────────────────────────────────────────────────────

def test_the_bundle_page_shows_each_regions_own_promise_and_window(client):
    standard = client.get("/api/v1/bundles/newborn", expect=200).get_json()
    birth = next(s for s in standard["steps"] if s["matter"] == "birth_medical_certificate")
    # The province's promise (the article's: the birth certificate within 10 minutes).
    assert birth["promised"] == {"value": 10, "unit": "minutes"} and birth.get("region") is None

    shangcheng = client.get("/api/v1/bundles/newborn", query_string={"region": "330102"},
                            expect=200).get_json()
    assert shangcheng["region"]["code"] == "330102" and shangcheng["available"] is True
    steps = {s["matter"]: s for s in shangcheng["steps"]}
    assert steps["birth_medical_certificate"]["promised"] == {"value": 20, "unit": "minutes"}
    assert steps["birth_medical_certificate"]["local_promise"] is True
    assert steps["citizen_card"]["promised"] == {"value": 1, "unit": "working_days"}
    assert steps["vaccination_certificate"]["local_promise"] is False
    assert steps["vaccination_certificate"]["window"] is None
    assert steps["citizen_card"]["window"]["address"] == (
        "Shangcheng Citizens' Hall, citizen card counter")
    assert {s["region"] for s in steps.values()} == {"330102"}

    ruian = client.get("/api/v1/bundles/newborn", query_string={"region": "330381"},
                       headers={"Accept-Language": "zh-CN"}, expect=200).get_json()
    steps = {s["matter"]: s for s in ruian["steps"]}
    assert steps["citizen_card"]["promised"] == {"value": 15, "unit": "minutes"}  # the province's
    assert steps["citizen_card"]["window"]["address"] == "瑞安市民中心 社保综合窗口"
    assert steps["citizen_card"]["region_name"] == "瑞安市"


def test_the_departments_of_a_region(client):
    shangcheng = {d["code"]: d for d in client.get(
        "/api/v1/departments", query_string={"region": "330102"}, expect=200).get_json()}
    assert set(ws.NEWBORN_DEPARTMENTS) <= set(shangcheng)
    assert shangcheng["public_security"]["region"] == "330102"
    assert shangcheng["public_security"]["regions"] == 90 + 11  # every county and city
    province = {d["code"] for d in client.get(
        "/api/v1/departments", query_string={"region": "330000"}, expect=200).get_json()}
    assert "transport" in province and "health" not in province
