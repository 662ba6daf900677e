"""Every status code of the contract, driven through real routes, comes back in the one shape."""
import io

import pymongo.errors
import pytest

from services.catalogue import search as catalogue_search
from services.workflow import submission
from tests import material_files as files
from tests import workflow_support as ws
from tests.helpers import make_officer

SHAPE = {"code", "status", "error", "message", "errors"}


def assert_shape(response, code: int) -> dict:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == SHAPE
    assert body["code"] == code
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "File \"", "pymongo", "mongoengine", ".py"):
        assert leak not in text
    return body


@pytest.fixture
def newborn():
    ws.load_catalogue()
    parent = ws.make_parent(41)
    application = submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent),
        idempotency_key="shape-1")
    return parent, application


def test_400_for_a_body_that_is_not_json(client):
    response = client.post("/api/v1/auth/otp", data="{not json",
                           content_type="application/json")
    assert_shape(response, 400)


def test_401_without_a_token_says_how_to_authenticate(client):
    response = client.get("/api/v1/me")
    assert_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_403_for_a_citizen_at_the_workbench(as_citizen):
    assert_shape(as_citizen.get("/api/v1/workbench/tasks"), 403)


def test_404_for_an_unknown_route_and_for_someone_elses_application(as_citizen, newborn):
    assert_shape(as_citizen.get("/api/v1/nothing-here"), 404)
    _, application = newborn
    assert_shape(as_citizen.get(f"/api/v1/applications/{application.id}"), 404)


def test_405_keeps_allow(client):
    response = client.delete("/api/v1/bundles")
    assert_shape(response, 405)
    assert "GET" in response.headers["Allow"]


def test_409_when_a_second_officer_claims_a_claimed_task(client, newborn):
    _, application = newborn
    task = application.task_for("birth_medical_certificate").id
    first, second = make_officer("health"), make_officer("health")
    client.as_(first).post(f"/api/v1/workbench/tasks/{task}/claim", expect=200)
    body = assert_shape(client.as_(second).post(f"/api/v1/workbench/tasks/{task}/claim"), 409)
    assert body["error"] == "task_not_claimable"


def test_412_for_a_stale_if_match(as_admin):
    ws.load_catalogue()
    etag = as_admin.get("/api/v1/admin/bundles/newborn", expect=200).headers["ETag"]
    change = {"figures_before": {"forms": 5, "materials": 24, "days": 7}}
    as_admin.patch("/api/v1/admin/bundles/newborn", json=change, headers={"If-Match": etag},
                   expect=200)
    stale = as_admin.patch("/api/v1/admin/bundles/newborn", json=change,
                           headers={"If-Match": etag})
    assert_shape(stale, 412)


def upload(client, data: bytes, name="id.jpg", declared="image/jpeg"):
    ws.load_catalogue()
    return client.post("/api/v1/materials", content_type="multipart/form-data",
                       data={"type": "parent_id_card",
                             "file": (io.BytesIO(data), name, declared)})


def test_413_for_an_oversized_upload(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 1024)
    assert_shape(upload(as_citizen, files.jpeg(size=(400, 400))), 413)


def test_415_for_an_executable_named_like_a_photo(as_citizen):
    assert_shape(upload(as_citizen, files.elf_executable()), 415)


def test_422_names_each_bad_field(as_citizen):
    body = assert_shape(as_citizen.post("/api/v1/me/family", json={"relation": "pet"}), 422)
    assert body["errors"]


def test_428_for_an_application_without_an_idempotency_key(as_citizen):
    body = assert_shape(as_citizen.post("/api/v1/applications", json={}), 428)
    assert body["error"] == "idempotency_key_required"


def test_429_for_a_second_code_within_the_minute_with_retry_after(client):
    client.post("/api/v1/auth/otp", json={"phone": "13912345678"}, expect=202)
    response = client.post("/api/v1/auth/otp", json={"phone": "13912345678"})
    assert_shape(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_500_reveals_nothing(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app/services/catalogue.py line 3")
    monkeypatch.setattr(catalogue_search, "list_departments", broken)
    response = client.get("/api/v1/departments")
    body = assert_shape(response, 500)
    assert "secret" not in body["message"]


def test_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise pymongo.errors.ServerSelectionTimeoutError("db1:27017: connection refused")
    monkeypatch.setattr(catalogue_search, "list_departments", unreachable)
    response = client.get("/api/v1/departments")
    body = assert_shape(response, 503)
    assert body["error"] == "database_unavailable"


def test_messages_come_in_chinese_when_asked(client):
    response = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN"})
    assert assert_shape(response, 401)["message"] == "需要登录。"
