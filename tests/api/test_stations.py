import io
import itertools
import json
import uuid

from PIL import Image

from common import crypto
from models.user import User
from tests.services.workflow.test_simulator import (
    NEWBORN_MATERIALS,
    newborn_catalogue,
    newborn_form,
)

__all__ = ["newborn_catalogue"]  # the fixture, used by name below

BASE = "/api/v1/workbench/assisted-applications"
_phones = itertools.count(13957720001)


def jpeg(shade: int) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (shade, 120, 60)).save(buffer, "JPEG")
    buffer.seek(0)
    return buffer


def consent(clerk, phone: str) -> str:
    sent = clerk.post(f"{BASE}/consent", json={"phone": phone}, expect=202).json
    assert sent["phone"] == phone[:3] + "****" + phone[-4:]
    granted = clerk.post(f"{BASE}/consent/verify",
                         json={"phone": phone, "code": sent["debug_code"]}, expect=201).json
    return granted["consent"]


def scan_all(clerk, token: str) -> list[str]:
    ids = []
    for n, material_type in enumerate(NEWBORN_MATERIALS):
        answer = clerk.post(f"{BASE}/scans", data={
            "consent": token, "type": material_type,
            "file": (jpeg(30 * n), f"{material_type}.jpg", "image/jpeg")},
            content_type="multipart/form-data", expect=201)
        ids.append(answer.json["id"])
    return ids


def apply(clerk, token: str, *, key: str | None = None, expect=201, **fields):
    body = {"consent": token, "bundle": "newborn", "subject": {"kind": "newborn"},
            "form": newborn_form(), "originals_checked": list(NEWBORN_MATERIALS), **fields}
    return clerk.post(BASE, json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex},
                      expect=expect)


def test_a_clerk_applies_for_a_parent_who_then_finds_it_in_their_app(
        client, as_clerk, newborn_catalogue):
    clerk, phone = as_clerk("ruian-hospital"), str(next(_phones))
    token = consent(clerk, phone)
    scanned = scan_all(clerk, token)

    made = apply(clerk, token).json

    assert made["station"] == "ruian-hospital" and made["channel"] == "station"
    assert made["citizen_phone"] == crypto.mask_phone(phone)
    assert made["originals_checked"] == list(NEWBORN_MATERIALS)
    assert {t["status"] for t in made["tasks"]} == {"pending", "waiting"}
    assert phone not in json.dumps(made)

    parent = User.objects.get(phone_index=crypto.blind_index("phone", phone))
    mine = client.as_(parent).get(f"/api/v1/applications/{made['id']}", expect=200).json
    assert sorted(mine["materials"]) == sorted(scanned)
    timeline = client.as_(parent).get(f"/api/v1/applications/{made['id']}/timeline",
                                      expect=200).json
    assert "service station ruian-hospital" in timeline[0]["text"]
    checked = next(e for e in timeline if e["type"] == "originals_checked")
    assert checked["text"] == "The service station checked the originals of your materials"
    assert checked["actor"] == "Service station clerk"


def test_phone_and_code_may_come_with_the_application_and_missing_materials_are_named(
        as_clerk, newborn_catalogue):
    clerk, phone = as_clerk(), str(next(_phones))
    code = clerk.post(f"{BASE}/consent", json={"phone": phone}, expect=202).json["debug_code"]
    refused = clerk.post(BASE, json={
        "phone": phone, "code": code, "bundle": "newborn", "subject": {"kind": "newborn"},
        "form": newborn_form(), "originals_checked": []},
        headers={"Idempotency-Key": uuid.uuid4().hex}, expect=422).json
    assert "materials" in refused["errors"]  # a new citizen: nothing in the vault, no scans


def test_a_wrong_code_is_refused_in_the_clerks_language(as_clerk):
    clerk, phone = as_clerk(), str(next(_phones))
    clerk.post(f"{BASE}/consent", json={"phone": phone}, expect=202)
    refused = clerk.with_headers(**{"Accept-Language": "zh-CN"}).post(
        f"{BASE}/consent/verify", json={"phone": phone, "code": "000000"}, expect=401).json
    assert refused["error"] == "otp_invalid"
    assert "验证码" in refused["message"]


def test_only_clerks_assist(as_citizen, as_officer):
    as_citizen.post(f"{BASE}/consent", json={"phone": "13957700000"}, expect=403)
    as_officer("health").get(BASE, expect=403)


def test_an_application_without_an_idempotency_key_is_refused(as_clerk, newborn_catalogue):
    clerk = as_clerk()
    token = consent(clerk, str(next(_phones)))
    answer = clerk.post(BASE, json={"consent": token, "bundle": "newborn"}, expect=428).json
    assert answer["error"] == "idempotency_key_required"


def test_a_retried_request_answers_the_same_application(as_clerk, newborn_catalogue):
    clerk = as_clerk()
    token = consent(clerk, str(next(_phones)))
    scan_all(clerk, token)
    first = apply(clerk, token, key="desk-3-0001").json
    again = apply(clerk, token, key="desk-3-0001").json
    assert again["id"] == first["id"]
    assert clerk.get(BASE, expect=200).json == [again]


def test_a_clerk_sees_only_their_stations_applications(as_clerk, newborn_catalogue):
    hospital, maternity = as_clerk("ruian-hospital"), as_clerk("ruian-maternity")
    token = consent(hospital, str(next(_phones)))
    scan_all(hospital, token)
    made = apply(hospital, token).json

    listed = as_clerk("ruian-hospital").get(BASE, expect=200)
    assert [a["id"] for a in listed.json] == [made["id"]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert maternity.get(BASE, expect=200).json == []
    maternity.get(f"{BASE}/{made['id']}", expect=404)
    hospital.get(f"{BASE}/{made['id']}", expect=200)


def test_a_consent_from_another_station_cannot_be_used(as_clerk):
    token = consent(as_clerk("ruian-hospital"), str(next(_phones)))
    answer = as_clerk("ruian-maternity").post(f"{BASE}/scans", data={
        "consent": token, "type": "parent_id_card", "file": (jpeg(1), "id.jpg", "image/jpeg")},
        content_type="multipart/form-data", expect=403).json
    assert answer["error"] == "consent_invalid"
