"""Admins manage staff accounts and partner systems."""
from models.catalogue import Department
from tests.helpers import make_citizen


def seed_department(code="public_security"):
    Department(code=code, name={"zh-CN": "公安", "en": "Public security"},
               regions=["330381"]).save()


def test_an_admin_creates_an_officer_who_can_then_sign_in(client, as_admin):
    seed_department()
    officer = as_admin.post("/api/v1/admin/staff", json={
        "username": "officer.ps.2", "password": "a-long-password", "role": "officer",
        "department": "public_security", "region": "330381", "name": "Li Ming"},
        expect=201).get_json()
    assert officer["role"] == "officer" and officer["department"] == "public_security"
    assert "password" not in officer and "password_hash" not in officer
    tokens = client.post("/api/v1/auth/staff-login", json={"username": "officer.ps.2",
                                                           "password": "a-long-password"},
                         expect=200).get_json()
    assert tokens["user"]["id"] == officer["id"]
    listed = as_admin.get("/api/v1/admin/staff?role=officer", expect=200).get_json()
    assert [s["username"] for s in listed] == ["officer.ps.2"]


def test_staff_creation_refuses_what_cannot_work(as_admin):
    seed_department()
    base = {"username": "x.y", "password": "a-long-password"}
    assert "department" in as_admin.post("/api/v1/admin/staff", json={
        **base, "role": "officer", "department": "nowhere"}, expect=422).get_json()["errors"]
    assert "station" in as_admin.post("/api/v1/admin/staff", json={
        **base, "role": "clerk"}, expect=422).get_json()["errors"]
    as_admin.post("/api/v1/admin/staff", json={**base, "role": "citizen"}, expect=422)
    as_admin.post("/api/v1/admin/staff", json={**base, "role": "admin"}, expect=201)
    assert as_admin.post("/api/v1/admin/staff", json={**base, "role": "admin"},
                         expect=409).get_json()["error"] == "username_taken"


def test_disabling_a_staff_account_signs_it_out(client, as_admin):
    clerk = as_admin.post("/api/v1/admin/staff", json={
        "username": "clerk.2", "password": "a-long-password", "role": "clerk",
        "station": "ruian-hospital"}, expect=201).get_json()
    tokens = client.post("/api/v1/auth/staff-login", json={"username": "clerk.2",
                                                           "password": "a-long-password"},
                         expect=200).get_json()
    changed = as_admin.patch(f"/api/v1/admin/staff/{clerk['id']}", json={"active": False},
                             expect=200).get_json()
    assert changed["active"] is False
    client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                expect=401)
    client.post("/api/v1/auth/staff-login", json={"username": "clerk.2",
                                                  "password": "a-long-password"}, expect=401)


def test_an_admin_unlocks_a_locked_account_and_resets_a_password(client, as_admin):
    clerk = as_admin.post("/api/v1/admin/staff", json={
        "username": "clerk.3", "password": "a-long-password", "role": "clerk",
        "station": "ruian-hospital"}, expect=201).get_json()
    for _ in range(5):
        client.post("/api/v1/auth/staff-login", json={"username": "clerk.3", "password": "no"},
                    expect=401)
    assert as_admin.get(f"/api/v1/admin/staff/{clerk['id']}").get_json()["locked"] is True
    as_admin.patch(f"/api/v1/admin/staff/{clerk['id']}", json={"unlock": True}, expect=200)
    client.post("/api/v1/auth/staff-login", json={"username": "clerk.3",
                                                  "password": "a-long-password"}, expect=200)
    as_admin.patch(f"/api/v1/admin/staff/{clerk['id']}", json={"password": "another-password"},
                   expect=200)
    client.post("/api/v1/auth/staff-login", json={"username": "clerk.3",
                                                  "password": "another-password"}, expect=200)


def test_an_admin_cannot_disable_themself(as_admin):
    body = as_admin.patch(f"/api/v1/admin/staff/{as_admin.user.id}", json={"active": False},
                          expect=409).get_json()
    assert body["error"] == "cannot_disable_self"


def test_citizens_are_not_staff_accounts(as_admin):
    citizen = make_citizen()
    as_admin.get(f"/api/v1/admin/staff/{citizen.id}", expect=404)
    as_admin.patch(f"/api/v1/admin/staff/{citizen.id}", json={"active": False}, expect=404)


def test_a_partner_is_registered_with_secrets_shown_once(client, as_admin):
    created = as_admin.post("/api/v1/admin/partners", json={
        "name": "Ruian mini-program", "client_id": "ruian-mp", "scopes": ["applications:read"],
        "webhook_url": "https://partner.example/hooks", "events": ["task_completed"]},
        expect=201).get_json()
    assert created["client_secret"] and created["webhook_secret"]
    shown = as_admin.get(f"/api/v1/admin/partners/{created['id']}", expect=200).get_json()
    assert "client_secret" not in shown and "webhook_secret" not in shown
    assert shown["scopes"] == ["applications:read"] and shown["events"] == ["task_completed"]
    client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": "ruian-mp",
        "client_secret": created["client_secret"]}, expect=200)

    rotated = as_admin.post(f"/api/v1/admin/partners/{created['id']}/secret",
                            expect=200).get_json()
    client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": "ruian-mp",
        "client_secret": created["client_secret"]}, expect=401)
    client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": "ruian-mp",
        "client_secret": rotated["client_secret"]}, expect=200)


def test_partner_scopes_are_checked_and_changeable(as_admin):
    as_admin.post("/api/v1/admin/partners", json={"name": "X", "scopes": ["everything"]},
                  expect=422)
    created = as_admin.post("/api/v1/admin/partners", json={"name": "X", "scopes": []},
                            expect=201).get_json()
    assert created["client_id"].startswith("p-")
    changed = as_admin.patch(f"/api/v1/admin/partners/{created['id']}", json={
        "scopes": ["tasks:read", "tasks:read"], "active": False}, expect=200).get_json()
    assert changed["scopes"] == ["tasks:read"] and changed["active"] is False
    assert [p["client_id"] for p in as_admin.get("/api/v1/admin/partners").get_json()] == [
        created["client_id"]]
