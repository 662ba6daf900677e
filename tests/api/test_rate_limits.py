"""Per-citizen limits on applications and uploads: far above what a family does, far below what a
script does; 429 in the one error shape with Retry-After, counted in the database."""
import io

import pymongo
import pytest
from flask import Flask

from api import rate_limits
from common import rate_limits as common_rate_limits
from models.application import Application
from models.catalogue import MaterialType
from models.connection import database
from models.material import Material
from tests import material_files as files
from tests import workflow_support as ws
from tests.helpers import make_citizen

APPLICATIONS, UPLOADS = "/api/v1/applications", "/api/v1/materials"


@pytest.fixture
def limits(app):
    """Small limits for one test, the configured ones back afterwards."""
    saved = {k: app.config[k] for k in ("RATE_LIMIT_APPLICATIONS", "RATE_LIMIT_UPLOADS")}
    app.config.update(RATE_LIMIT_APPLICATIONS="2 per minute", RATE_LIMIT_UPLOADS="2 per minute")
    yield
    app.config.update(saved)


def apply(client, parent, n: int, expect: int):
    body = {"bundle": "newborn", "subject": {"kind": "newborn"},
            "form": ws.newborn_form(newborn_name=f"Baby {n}"),
            "materials": ws.newborn_materials(parent)}
    return client.as_(parent).post(APPLICATIONS, json=body,
                                   headers={"Idempotency-Key": f"baby-{n}"}, expect=expect)


def test_a_citizen_over_the_limit_gets_429_with_retry_after_and_nothing_is_made(client, limits):
    ws.load_catalogue()
    parent, other = ws.make_parent(1), ws.make_parent(2)
    apply(client, parent, 1, 201)
    apply(client, parent, 2, 201)

    refused = apply(client, parent, 3, 429)
    in_chinese = client.as_(parent).with_headers(**{"Accept-Language": "zh-CN"}).post(
        APPLICATIONS, json={}, headers={"Idempotency-Key": "baby-4"}, expect=429)

    body = refused.get_json()
    assert body["error"] == "too_many_applications" and body["code"] == 429
    assert set(body) == {"code", "status", "error", "message", "errors"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "申请次数过多" in in_chinese.get_json()["message"]
    assert Application.objects(applicant=str(parent.id)).count() == 2
    apply(client, other, 1, 201)  # counted per citizen, not for everyone


def test_the_default_limit_stops_a_script_at_the_twenty_first_application_in_an_hour(client):
    citizen = ws.make_parent()
    answers = [client.as_(citizen).post(APPLICATIONS, json={}).status_code for _ in range(22)]

    # Every attempt counts, refused ones too (here: without an Idempotency-Key, 428).
    assert answers == [428] * 20 + [429] * 2


def test_uploads_over_the_limit_get_429_and_store_nothing(client, limits):
    MaterialType(code="parent_id_card", name={"en": "ID card"}, formats=["jpeg"]).save()
    citizen = make_citizen()

    def upload(n: int, expect: int):
        data = files.jpeg(colour=(40 * n, 30, 30))  # another photo each time: no de-duplication
        return client.as_(citizen).post(
            UPLOADS, data={"type": "parent_id_card", "file": (io.BytesIO(data), f"card{n}.jpg",
                                                              "image/jpeg")},
            content_type="multipart/form-data", expect=expect)

    upload(1, 201)
    upload(2, 201)
    refused = upload(3, 429)

    assert refused.get_json()["error"] == "too_many_uploads"
    assert int(refused.headers["Retry-After"]) >= 1
    assert Material.objects(owner=str(citizen.id)).count() == 2


def test_the_counts_live_in_the_database_every_process_shares(client, limits):
    citizen = ws.make_parent()
    client.as_(citizen).post(APPLICATIONS, json={}, expect=428)

    windows = list(database()["windows"].find({}, {"_id": 1}))

    assert any(str(citizen.id) in w["_id"] and "applications" in w["_id"] for w in windows)


def test_two_apps_in_one_process_each_count_in_their_own_database(database_server):
    """Each app's requests count in that app's database, not in another app's of the process."""
    names = ("onething_limits_a", "onething_limits_b")
    apps = []
    for name in names:
        other = Flask(name)
        other.config.update(MONGODB_URI=database_server.uri, MONGODB_DB=name,
                            MONGODB_TIMEOUT_MS=3000, DB_COMMAND_COUNTING=False)
        apps.append(other)
    client = pymongo.MongoClient(database_server.uri)
    try:
        for other in apps:
            with other.app_context():
                assert common_rate_limits.take_all("probe", [(1, 60)]) == 0
        counted = {name: client[name]["windows"].count_documents({}) for name in names}
        assert counted == {names[0]: 1, names[1]: 1}
        with apps[0].app_context():
            assert common_rate_limits.take_all("probe", [(1, 60)]) >= 1  # its own count: spent
    finally:
        for name in names:
            client.drop_database(name)
        client.close()


def test_a_setting_of_several_limits_names_each_window():
    assert rate_limits.windows("2 per minute; 40 per day") == ((2, 60), (40, 86400))
