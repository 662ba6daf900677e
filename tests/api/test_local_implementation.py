"""Local implementation (实施清单) and regional admins: a county sets its own promise and window
for a matter of its level; the bundle page and new applications show them; an admin scoped to a
region manages that region's staff and local entries, and nothing else."""
from datetime import timedelta

import pytest

from models.application import Application
from tests import workflow_support as ws
from tests.helpers import make_admin, make_officer

LOCAL = "/api/v1/admin/matters/{matter}/regions/{region}"
STAFF = "/api/v1/admin/staff"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def test_a_county_sets_its_own_promise_and_window_and_new_applications_keep_them(client,
                                                                                 as_admin):
    window = {"address": {"zh-CN": "拱墅区市民之家 3号窗口", "en": "Gongshu Citizens' Hall, "
                                                                 "window 3"},
              "hours": {"zh-CN": "工作日 9:00–17:00", "en": "Working days 9:00-17:00"}}
    local = as_admin.put(LOCAL.format(matter="newborn_household_registration", region="330105"),
                         json={"promised": {"value": 10, "unit": "minutes"}, "window": window},
                         expect=200).get_json()
    assert local["promised"] == {"value": 10, "unit": "minutes"} and local["local_promise"]
    assert local["window"]["address"] == "Gongshu Citizens' Hall, window 3"

    page = client.get("/api/v1/bundles/newborn", query_string={"region": "330105"},
                      expect=200).get_json()
    step = next(s for s in page["steps"] if s["matter"] == "newborn_household_registration")
    assert step["promised"] == {"value": 10, "unit": "minutes"}
    assert step["window"]["hours"] == "Working days 9:00-17:00"

    parent = ws.make_parent(region="330105")
    made = client.as_(parent).post("/api/v1/applications", headers={"Idempotency-Key": "k"},
                                   json={"bundle": "newborn", "subject": {"kind": "newborn"},
                                         "form": ws.newborn_form(),
                                         "materials": ws.newborn_materials(parent)},
                                   expect=201).get_json()
    task = next(t for t in made["tasks"] if t["matter"] == "newborn_household_registration")
    assert task["promised"] == {"value": 10, "unit": "minutes"}
    assert task["window"]["address"] == "Gongshu Citizens' Hall, window 3"
    # Released once the birth certificate is done, due by Gongshu's own promise.
    officers = {d: make_officer(d, region="330105") for d in ws.NEWBORN_DEPARTMENTS}
    birth = next(t["id"] for t in made["tasks"] if t["matter"] == "birth_medical_certificate")
    api = client.as_(officers["health"])
    api.post(f"/api/v1/workbench/tasks/{birth}/claim", expect=200)
    api.post(f"/api/v1/workbench/tasks/{birth}/complete",
             json={"outputs": ws.outputs_for("birth_medical_certificate")}, expect=200)
    stored = Application.objects.get(id=made["id"]).task(task["id"])
    assert stored.due_at - stored.released_at == timedelta(minutes=10)

    # Back to the catalogue's promise: later applications and the page follow it again.
    as_admin.delete(LOCAL.format(matter="newborn_household_registration", region="330105"),
                    expect=204)
    page = client.get("/api/v1/bundles/newborn", query_string={"region": "330105"},
                      expect=200).get_json()
    step = next(s for s in page["steps"] if s["matter"] == "newborn_household_registration")
    assert step["promised"] == {"value": 15, "unit": "minutes"} and step["window"] is None
    # The application made meanwhile keeps what it was promised.
    assert Application.objects.get(id=made["id"]).task(task["id"]).promised == {
        "value": 10, "unit": "minutes"}


def test_what_a_region_may_not_set_is_refused_naming_the_field(as_admin):
    url = LOCAL.format(matter="newborn_household_registration", region="{}")
    # A city does not set a county-level matter.
    refused = as_admin.put(url.format("330100"), json={"promised": {"value": 5,
                                                                    "unit": "minutes"}},
                           expect=422).get_json()
    assert list(refused["errors"]) == ["region"]
    # Never longer than the statutory limit (3 working days).
    refused = as_admin.put(url.format("330105"), json={"promised": {"value": 4,
                                                                    "unit": "working_days"}},
                           expect=422).get_json()
    assert list(refused["errors"]) == ["promised"]
    refused = as_admin.put(url.format("330199"), json={"promised": {"value": 5,
                                                                    "unit": "minutes"}},
                           expect=422).get_json()
    assert list(refused["errors"]) == ["region"]
    as_admin.put(LOCAL.format(matter="no_such_matter", region="330105"),
                 json={"promised": {"value": 5, "unit": "minutes"}}, expect=404)
    as_admin.put(url.format("330105"), json={}, expect=422)
    as_admin.delete(url.format("330106"), expect=404)


def test_an_admin_of_a_region_manages_that_regions_staff_and_local_entries_only(client):
    shangcheng = client.as_(make_admin(region="330102"))
    province = client.as_(make_admin())
    ours = make_officer("public_security", region="330102")
    theirs = make_officer("public_security", region="330381")

    listed = {s["username"] for s in shangcheng.get(STAFF, expect=200).get_json()}
    assert ours.username in listed and theirs.username not in listed
    everyone = {s["username"] for s in province.get(STAFF, expect=200).get_json()}
    assert {ours.username, theirs.username} <= everyone
    shangcheng.get(f"{STAFF}/{theirs.id}", expect=404)
    shangcheng.patch(f"{STAFF}/{theirs.id}", json={"name": "Taken"}, expect=404)
    shangcheng.patch(f"{STAFF}/{ours.id}", json={"name": "Renamed"}, expect=200)
    moved = shangcheng.patch(f"{STAFF}/{ours.id}", json={"region": "330381"},
                             expect=422).get_json()
    assert list(moved["errors"]) == ["region"]

    made = shangcheng.post(STAFF, json={
        "username": "officer.health.sc", "password": "a-long-password", "role": "officer",
        "department": "health"}, expect=201).get_json()
    assert made["region"] == "330102"  # their own region, unless they say another within it
    refused = shangcheng.post(STAFF, json={
        "username": "officer.health.ra", "password": "a-long-password", "role": "officer",
        "department": "health", "region": "330381"}, expect=422).get_json()
    assert list(refused["errors"]) == ["region"]

    shangcheng.put(LOCAL.format(matter="citizen_card", region="330102"),
                   json={"promised": {"value": 2, "unit": "working_days"}}, expect=200)
    refused = shangcheng.put(LOCAL.format(matter="citizen_card", region="330381"),
                             json={"promised": {"value": 2, "unit": "working_days"}},
                             expect=403).get_json()
    assert refused["error"] == "outside_your_region"
    # The catalogue itself, partners and failed deliveries are the province's to manage.
    for method, url in (("GET", "/api/v1/admin/matters/citizen_card"),
                        ("POST", "/api/v1/admin/bundles/newborn/retire"),
                        ("GET", "/api/v1/admin/partners"),
                        ("GET", "/api/v1/admin/notifications/failed")):
        refused = shangcheng.request(method, url, expect=403).get_json()
        assert refused["error"] == "province_admin_only", url
    province.get("/api/v1/admin/matters/citizen_card", expect=200)


def test_an_officer_is_created_only_where_the_department_exists(as_admin):
    body = {"username": "officer.x", "password": "a-long-password", "role": "officer",
            "department": "public_security"}
    assert list(as_admin.post(STAFF, json=body, expect=422).get_json()["errors"]) == ["region"]
    refused = as_admin.post(STAFF, json={**body, "region": "330199"}, expect=422).get_json()
    assert list(refused["errors"]) == ["region"]
    as_admin.post(STAFF, json={**body, "region": "330102"}, expect=201)
