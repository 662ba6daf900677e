"""Maintaining the catalogue through the API: admins only, precise 422s, versions kept."""
import pytest

from services.catalogue import seed as catalogue_seed
from tests.helpers import make_citizen, make_officer

MATTER = {
    "code": "pet_licence",
    "name": {"zh-CN": "犬只登记", "en": "Dog licence"},
    "department": "public_security",
    "level": "county",
    "region": "330381",
    "fields": [{"name": "dog_name", "type": "string", "required": True,
                "label": {"zh-CN": "犬名", "en": "Dog's name"}}],
    "materials": ["id_card"],
    "outputs": [{"name": "dog_tag_number", "label": {"zh-CN": "犬牌号", "en": "Dog tag number"}}],
    "promised": {"value": 1, "unit": "working_days"},
    "synonyms": ["养狗", "狗证"],
}


@pytest.fixture(autouse=True)
def seeded():
    catalogue_seed.load_catalogue()


def test_only_admins_maintain_the_catalogue(client):
    client.post("/api/v1/admin/matters", json=MATTER, expect=401)
    client.as_(make_citizen()).post("/api/v1/admin/matters", json=MATTER, expect=403)
    client.as_(make_officer("public_security")).patch(
        "/api/v1/admin/matters/citizen_card", json={"synonyms": []}, expect=403)
    client.as_(make_citizen()).post("/api/v1/admin/bundles/newborn/retire", expect=403)
    client.get("/api/v1/matters/pet_licence", expect=404)


def test_an_admin_adds_a_matter_that_citizens_then_find(as_admin, client):
    created = as_admin.post("/api/v1/admin/matters", json=MATTER, expect=201).get_json()
    assert created["version"] == 1 and created["retired"] is False
    assert created["fields"][0]["label"] == "Dog's name"
    found = client.get("/api/v1/matters", query_string={"q": "狗证"}, expect=200).get_json()
    assert [m["code"] for m in found] == ["pet_licence"]
    as_admin.post("/api/v1/admin/matters", json=MATTER, expect=409)


def test_a_bad_matter_is_refused_with_each_problem_named(as_admin):
    bad = dict(MATTER, department="nowhere", materials=["id_card", "moon_rock"], level="galaxy")
    body = as_admin.post("/api/v1/admin/matters", json=bad, expect=422).get_json()
    assert "level" in body["errors"]
    body = as_admin.post("/api/v1/admin/matters", json=dict(bad, level="county"),
                         expect=422).get_json()
    assert body["error"] == "validation_failed"
    assert "nowhere" in body["errors"]["department"][0]
    assert "moon_rock" in body["errors"]["materials"][0]
    unknown = as_admin.post("/api/v1/admin/matters", json=dict(MATTER, colour="red"),
                            expect=422).get_json()
    assert "colour" in unknown["errors"]


def test_a_bundle_with_a_cycle_is_refused_and_a_good_one_published(as_admin, client):
    as_admin.post("/api/v1/admin/matters", json=MATTER, expect=201)
    steps = [{"matter": "pet_licence", "depends_on": ["vaccination_certificate"]},
             {"matter": "vaccination_certificate", "depends_on": ["pet_licence"]}]
    payload = {"code": "new_pet", "name": {"zh-CN": "养宠物一件事", "en": "Getting a dog"},
               "steps": steps, "synonyms": ["养狗"], "figures_before": {"forms": 2}}
    body = as_admin.post("/api/v1/admin/bundles", json=payload, expect=422).get_json()
    assert "pet_licence" in body["errors"]["depends_on"][0]
    payload["steps"][0]["depends_on"] = []
    created = as_admin.post("/api/v1/admin/bundles", json=payload, expect=201).get_json()
    assert created["version"] == 1 and len(created["steps"]) == 2
    assert created["figures"] == {"before": {"forms": 2}, "after": {
        "forms": 1, "materials": 2, "departments": 2, "matters": 2, "visits": 0}}
    found = client.get("/api/v1/bundles", query_string={"q": "养狗"}, expect=200).get_json()
    assert found[0]["code"] == "new_pet"


def test_changing_a_bundle_publishes_a_new_version_and_the_old_one_stays_readable(as_admin,
                                                                                 client):
    changed = as_admin.patch("/api/v1/admin/bundles/newborn",
                             json={"figures_before": {"forms": 5, "materials": 24, "days": 7}},
                             expect=200).get_json()
    assert changed["version"] == 2
    assert client.get("/api/v1/bundles/newborn", expect=200).get_json()["version"] == 2
    old = client.get("/api/v1/bundles/newborn", query_string={"version": 1},
                     expect=200).get_json()
    assert old["figures"]["before"]["days"] == 6
    history = as_admin.get("/api/v1/admin/bundles/newborn", expect=200).get_json()
    assert [v["version"] for v in history["versions"]] == [1, 2]


def test_retiring_a_bundle_hides_it_but_keeps_its_versions(as_admin, client):
    retired = as_admin.post("/api/v1/admin/bundles/farmhouse_construction/retire",
                            expect=200).get_json()
    assert retired["retired"] is True
    client.get("/api/v1/bundles/farmhouse_construction", expect=404)
    client.get("/api/v1/bundles/farmhouse_construction", query_string={"version": 1},
               expect=200)
    codes = [b["code"] for b in client.get("/api/v1/bundles", expect=200).get_json()]
    assert "farmhouse_construction" not in codes


def test_retiring_a_matter_a_bundle_uses_is_a_conflict(as_admin):
    body = as_admin.post("/api/v1/admin/matters/citizen_card/retire", expect=409).get_json()
    assert body["error"] == "matter_in_use" and "newborn" in body["message"]
    as_admin.post("/api/v1/admin/matters", json=MATTER, expect=201)
    as_admin.post("/api/v1/admin/matters/pet_licence/retire", expect=200)
    assert as_admin.get("/api/v1/admin/matters/pet_licence", expect=200).get_json()["retired"]
    as_admin.patch("/api/v1/admin/matters/pet_licence", json={"synonyms": []}, expect=404)


def test_a_field_change_that_conflicts_inside_a_bundle_is_refused(as_admin):
    body = as_admin.patch("/api/v1/admin/matters/citizen_card", json={"fields": [
        {"name": "newborn_name", "type": "integer", "label": {"zh-CN": "姓名", "en": "Name"}}]},
        expect=422).get_json()
    (message,) = body["errors"]["fields"]
    assert message.startswith("newborn: ") and "newborn_name" in message


def test_two_admins_editing_one_bundle_cannot_overwrite_each_other(as_admin, client):
    read = as_admin.get("/api/v1/admin/bundles/newborn", expect=200)
    etag = read.headers["ETag"]
    first = {"figures_before": {"forms": 5, "materials": 24, "days": 7}}
    second = {"figures_before": {"forms": 5, "materials": 24, "days": 8}}

    as_admin.patch("/api/v1/admin/bundles/newborn", json=first, headers={"If-Match": etag},
                   expect=200)
    late = as_admin.patch("/api/v1/admin/bundles/newborn", json=second,
                          headers={"If-Match": etag}, expect=412).get_json()

    assert late["error"] == "version_mismatch"
    figures = client.get("/api/v1/bundles/newborn", expect=200).get_json()["figures"]["before"]
    assert figures["days"] == 7


def test_a_matter_edit_with_a_stale_etag_is_refused(as_admin):
    etag = as_admin.get("/api/v1/admin/matters/vaccination_certificate", expect=200).headers["ETag"]
    as_admin.patch("/api/v1/admin/matters/vaccination_certificate",
                   json={"synonyms": ["打疫苗"]}, headers={"If-Match": etag}, expect=200)
    as_admin.patch("/api/v1/admin/matters/vaccination_certificate",
                   json={"synonyms": ["接种证"]}, headers={"If-Match": etag}, expect=412)
    as_admin.patch("/api/v1/admin/matters/vaccination_certificate",
                   json={"synonyms": ["接种证"]}, headers={"If-Match": '"bogus"'}, expect=412)
