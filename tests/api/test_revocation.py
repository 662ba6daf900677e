"""Access taken back at once: sign-out, sign-out everywhere, a disabled account or partner, a
changed password and a replayed refresh token refuse the access tokens from the next request."""
import time

from models.refresh_token import RefreshToken
from services.identity import revocation
from tests.api.test_sessions import bearer, make_staff, sign_in, staff_login
from tests.helpers import close_rate_limit_windows, make_partner, partner_token


def test_signing_out_refuses_the_access_token_it_came_with(client):
    tokens = sign_in(client)
    close_rate_limit_windows()  # a second phone of the same citizen asks for its own code
    other_device = sign_in(client)
    client.get("/api/v1/me", headers=bearer(tokens), expect=200)

    client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                expect=204)

    refused = client.get("/api/v1/me", headers=bearer(tokens), expect=401).get_json()
    assert refused["error"] == "token_revoked"
    client.get("/api/v1/me", headers=bearer(other_device), expect=200)  # another session


def test_a_disabled_staff_account_is_refused_at_once(client, as_admin):
    officer = make_staff()
    tokens = staff_login(client, "officer.public_security", "onething-dev").get_json()
    client.get("/api/v1/workbench/tasks", headers=bearer(tokens), expect=200)

    as_admin.patch(f"/api/v1/admin/staff/{officer.id}", json={"active": False}, expect=200)

    client.get("/api/v1/workbench/tasks", headers=bearer(tokens), expect=401)
    client.get("/api/v1/me", headers=bearer(tokens), expect=401)


def test_a_new_password_refuses_the_old_tokens_but_not_the_new_ones(client, as_admin):
    officer = make_staff()
    old = staff_login(client, "officer.public_security", "onething-dev").get_json()

    as_admin.patch(f"/api/v1/admin/staff/{officer.id}", json={"password": "a-new-secret-1"},
                   expect=200)

    client.get("/api/v1/workbench/tasks", headers=bearer(old), expect=401)
    new = staff_login(client, "officer.public_security", "a-new-secret-1").get_json()
    client.get("/api/v1/workbench/tasks", headers=bearer(new), expect=200)


def test_a_replayed_refresh_token_ends_the_session_and_its_access_tokens(client):
    tokens = sign_in(client)
    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                          expect=200).get_json()

    client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                expect=401)  # stolen and replayed

    client.get("/api/v1/me", headers=bearer(renewed), expect=401)
    assert RefreshToken.objects(revoked_at=None).count() == 0


def test_a_disabled_partner_is_refused_at_once(client, as_admin):
    partner, _ = make_partner(scopes=["webhooks"])
    token = partner_token(partner)
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/partner/webhooks/replay", json={"since": "2026-01-01T00:00:00Z"},
                headers=headers)

    as_admin.patch(f"/api/v1/admin/partners/{partner.id}", json={"active": False}, expect=200)

    client.post("/api/v1/partner/webhooks/replay", json={"since": "2026-01-01T00:00:00Z"},
                headers=headers, expect=401)


def test_another_process_learns_of_a_revocation_within_its_refresh(app, client):
    tokens = sign_in(client)
    subject = client.get("/api/v1/me", headers=bearer(tokens), expect=200).get_json()["id"]
    # As if another process had revoked it: only the database knows, not this process's memory.
    revocation.revoke_subject(subject)
    revocation.forget()
    time.sleep(0.01)
    client.get("/api/v1/me", headers=bearer(tokens), expect=401)
