"""Signing in and out through the API: citizens, staff, partners and mini-programs."""
from datetime import UTC, datetime, timedelta

import pytest

from api.auth import auth_required
from models.otp import OtpCode
from models.refresh_token import RefreshToken
from models.user import PlatformBinding, User
from services.errors import Forbidden, Unauthorized
from services.identity import partner_accounts, staff_accounts
from services.identity.tokens import issue_access_token
from standins.miniprogram import MiniProgramPlatformStandin
from tests.helpers import close_rate_limit_windows, make_citizen, make_partner, partner_token

PHONE = "13800138000"


def request_code(client, phone=PHONE, purpose="login", expect=202) -> str:
    response = client.post("/api/v1/auth/otp", json={"phone": phone, "purpose": purpose},
                           expect=expect)
    return response.get_json().get("debug_code")


def sign_in(client, phone=PHONE) -> dict:
    code = request_code(client, phone)
    return client.post("/api/v1/auth/login", json={"phone": phone, "code": code},
                       expect=200).get_json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def make_staff(role="officer", username="officer.public_security", password="onething-dev",
               **fields):
    defaults = {"officer": {"department": "public_security", "region": "330381"},
                "clerk": {"station": "ruian-hospital"}, "admin": {}}[role]
    return staff_accounts.create_staff(username=username, password=password, role=role,
                                 check_department=False, **{**defaults, **fields})


def staff_login(client, username, password, expect=200):
    return client.post("/api/v1/auth/staff-login",
                       json={"username": username, "password": password}, expect=expect)


# ── Citizens ──────────────────────────────────────────────────────────────────────────────────


def test_a_citizen_signs_in_with_a_code_and_the_first_sign_in_creates_the_account(client):
    answer = client.post("/api/v1/auth/otp", json={"phone": PHONE}, expect=202).get_json()
    assert answer["expires_in"] == 300 and len(answer["debug_code"]) == 6
    tokens = client.post("/api/v1/auth/login", json={"phone": PHONE,
                                                     "code": answer["debug_code"]},
                         expect=200).get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["user"]["role"] == "citizen" and "department" not in tokens["user"]
    me = client.get("/api/v1/me", headers=bearer(tokens), expect=200).get_json()
    assert me["id"] == tokens["user"]["id"] and me["phone"] == "138****8000"

    open_windows()
    again = sign_in(client, "+86 138 0013 8000")
    assert again["user"]["id"] == tokens["user"]["id"]
    assert User.objects(role="citizen").count() == 1


def test_token_answers_are_never_cached(client):
    code = request_code(client)
    response = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code},
                           expect=200)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_code_is_a_401_that_says_how_many_tries_are_left(client):
    code = request_code(client)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong},
                           expect=401)
    assert response.get_json()["error"] == "otp_invalid"
    assert "4 tries left" in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_phone_that_is_not_a_mainland_mobile_is_refused_with_the_field_named(client):
    for phone in ["12345678901", "1380013800", "abcdefghijk"]:
        body = client.post("/api/v1/auth/otp", json={"phone": phone}, expect=422).get_json()
        assert "phone" in body["errors"]


def test_clients_may_ask_only_for_sign_in_and_binding_codes(client):
    body = client.post("/api/v1/auth/otp", json={"phone": PHONE, "purpose": "station_consent"},
                       expect=422).get_json()
    assert "purpose" in body["errors"]


def test_asking_again_within_a_minute_is_429_with_retry_after(client):
    request_code(client)
    response = client.post("/api/v1/auth/otp", json={"phone": PHONE}, expect=429)
    assert response.get_json()["error"] == "otp_rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 61


def test_no_debug_code_where_the_setting_is_off(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_DEBUG_CODE", False)
    answer = client.post("/api/v1/auth/otp", json={"phone": PHONE}, expect=202).get_json()
    assert answer == {"expires_in": 300}


def test_a_disabled_citizen_cannot_sign_in_or_refresh(client):
    tokens = sign_in(client)
    User.objects(id=tokens["user"]["id"]).update(set__active=False)
    signed_in_at = User.objects.get(id=tokens["user"]["id"]).last_login_at
    open_windows()
    code = request_code(client)
    body = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code},
                       expect=403).get_json()
    assert body["error"] == "account_disabled"
    assert User.objects(phone_index=User.objects.get(id=tokens["user"]["id"]).phone_index
                        ).count() == 1  # refused, not made again
    assert User.objects.get(id=tokens["user"]["id"]).last_login_at == signed_in_at
    client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                expect=401)


@pytest.mark.parametrize("made_by", ["a clerk", "a lost code record"])
def test_a_citizen_whose_phone_never_spent_a_code_here_signs_in_to_their_own_account(
        client, made_by):
    """Whether a code of the phone was spent before only decides which command goes first: an
    account a clerk made (no code ever spent) or one whose code record was lost is still found,
    never made twice."""
    if made_by == "a clerk":
        existing = make_citizen(phone=PHONE, name="王芳")
    else:
        existing = User.objects.get(id=sign_in(client)["user"]["id"])
        OtpCode.objects.delete()
        open_windows()

    tokens = sign_in(client)

    assert tokens["user"]["id"] == str(existing.id)
    assert User.objects(phone_index=existing.phone_index).count() == 1


def test_a_disabled_citizen_is_refused_even_where_no_code_was_spent_before(client):
    disabled = make_citizen(phone=PHONE, active=False)

    code = request_code(client)
    body = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code},
                       expect=403).get_json()

    assert body["error"] == "account_disabled"
    assert User.objects(phone_index=disabled.phone_index).count() == 1


# ── Refresh and logout ────────────────────────────────────────────────────────────────────────


def refresh(client, token, expect=200):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token}, expect=expect)


def test_refreshing_gives_new_tokens_and_spends_the_old_refresh_token(client):
    first = sign_in(client)
    second = refresh(client, first["refresh_token"]).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == first["user"]["id"]
    client.get("/api/v1/me", headers=bearer(second), expect=200)
    assert refresh(client, first["refresh_token"], expect=401).get_json()["error"] == (
        "invalid_refresh_token")


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(client):
    first = sign_in(client)
    second = refresh(client, first["refresh_token"]).get_json()
    refresh(client, first["refresh_token"], expect=401)  # replayed: stolen?
    refresh(client, second["refresh_token"], expect=401)  # the legitimate one is gone too
    other_session = sign_in(client, "13900139000")
    refresh(client, other_session["refresh_token"], expect=200)  # other families untouched


def test_refresh_tokens_are_stored_only_as_hashes(client):
    tokens = sign_in(client)
    raw = str(list(RefreshToken._get_collection().find()))
    assert tokens["refresh_token"] not in raw


def test_an_expired_refresh_token_is_refused(client):
    tokens = sign_in(client)
    RefreshToken.objects.update(set__expires_at=datetime.now(UTC) - timedelta(seconds=1))
    refresh(client, tokens["refresh_token"], expect=401)


def test_logout_revokes_the_session(client):
    tokens = sign_in(client)
    rotated = refresh(client, tokens["refresh_token"]).get_json()
    client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]},
                expect=204)
    refresh(client, rotated["refresh_token"], expect=401)
    # Unknown or repeated logouts answer the same: nothing to learn from them.
    client.post("/api/v1/auth/logout", json={"refresh_token": "nonsense"}, expect=204)


# ── Staff ─────────────────────────────────────────────────────────────────────────────────────


def test_an_officer_signs_in_with_a_password_and_sees_their_department(client):
    make_staff()
    tokens = staff_login(client, "officer.public_security", "onething-dev").get_json()
    assert tokens["user"]["role"] == "officer"
    assert tokens["user"]["department"] == "public_security"
    assert tokens["user"]["region"] == "330381"
    refreshed = refresh(client, tokens["refresh_token"]).get_json()
    assert refreshed["user"]["department"] == "public_security"


def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    make_staff()
    unknown = staff_login(client, "nobody", "onething-dev", expect=401).get_json()
    wrong = staff_login(client, "officer.public_security", "wrong-password", expect=401)
    assert wrong.get_json() == unknown
    assert unknown["error"] == "invalid_credentials"


def test_repeated_failures_lock_the_account_for_a_while(client):
    officer = make_staff()
    for _ in range(5):
        staff_login(client, "officer.public_security", "wrong-password", expect=401)
    locked = staff_login(client, "officer.public_security", "onething-dev", expect=401)
    assert locked.get_json() == staff_login(client, "nobody", "x", expect=401).get_json()
    User.objects(id=officer.id).update(
        set__locked_until=datetime.now(UTC) - timedelta(seconds=1))
    staff_login(client, "officer.public_security", "onething-dev", expect=200)


def test_a_success_forgets_earlier_failures(client):
    make_staff()
    for _ in range(4):
        staff_login(client, "officer.public_security", "wrong-password", expect=401)
    staff_login(client, "officer.public_security", "onething-dev", expect=200)
    for _ in range(4):
        staff_login(client, "officer.public_security", "wrong-password", expect=401)
    staff_login(client, "officer.public_security", "onething-dev", expect=200)


def test_a_citizen_cannot_use_the_staff_sign_in(client):
    sign_in(client)
    staff_login(client, PHONE, "onething-dev", expect=401)


def test_staff_and_citizen_tokens_do_not_open_each_others_routes(client):
    make_staff(role="admin", username="admin")
    admin = staff_login(client, "admin", "onething-dev").get_json()
    citizen = sign_in(client)
    client.get("/api/v1/me", headers=bearer(admin), expect=403)
    client.get("/api/v1/admin/staff", headers=bearer(citizen), expect=403)
    client.get("/api/v1/admin/staff", headers=bearer(admin), expect=200)


# ── Partners ──────────────────────────────────────────────────────────────────────────────────


def token_request(client, expect=200, form=True, **fields):
    body = {"grant_type": "client_credentials", **fields}
    kwargs = {"data": body} if form else {"json": body}
    return client.post("/api/v1/auth/token", expect=expect, **kwargs)


def test_a_partner_gets_a_token_limited_to_the_scopes_it_asks_for(client):
    partner, secret = make_partner(scopes=["applications:read", "webhooks"])
    answer = token_request(client, client_id=partner.client_id, client_secret=secret,
                           scope="applications:read").get_json()
    assert answer["scope"] == "applications:read" and answer["token_type"] == "Bearer"
    full = token_request(client, form=False, client_id=partner.client_id,
                         client_secret=secret).get_json()
    assert full["scope"] == "applications:read webhooks"


def test_a_partner_cannot_ask_for_a_scope_it_was_not_granted(client):
    partner, secret = make_partner(scopes=["applications:read"])
    body = token_request(client, expect=400, client_id=partner.client_id, client_secret=secret,
                         scope="tasks:write").get_json()
    assert body["error"] == "invalid_scope"


def test_a_wrong_partner_secret_or_grant_is_refused(client):
    partner, _ = make_partner()
    wrong = token_request(client, expect=401, client_id=partner.client_id,
                          client_secret="wrong").get_json()
    unknown = token_request(client, expect=401, client_id="nobody",
                            client_secret="wrong").get_json()
    assert wrong == unknown and wrong["error"] == "invalid_client"
    body = client.post("/api/v1/auth/token", data={
        "grant_type": "password", "client_id": partner.client_id, "client_secret": "x"},
        expect=400).get_json()
    assert body["error"] == "unsupported_grant_type"


def test_a_partner_token_opens_no_citizen_or_staff_route(client):
    partner, secret = make_partner()
    token = token_request(client, client_id=partner.client_id,
                          client_secret=secret).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers, expect=403).get_json()["error"] == (
        "insufficient_scope")
    client.get("/api/v1/admin/partners", headers=headers, expect=403)


def test_a_disabled_partner_gets_no_token(client):
    partner, secret = make_partner()
    partner_accounts.update_partner(partner_id=str(partner.id), active=False)
    token_request(client, expect=401, client_id=partner.client_id, client_secret=secret)


# ── Mini-programs ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def platform(app, monkeypatch):
    with MiniProgramPlatformStandin() as standin:
        for key, value in standin.settings().items():
            monkeypatch.setitem(app.config, key, value)
        yield standin


def miniprogram(client, platform_name, code, expect):
    return client.post("/api/v1/auth/miniprogram", json={"platform": platform_name,
                                                         "code": code}, expect=expect)


def bind(client, ticket, phone=PHONE, purpose="miniprogram_bind", expect=200):
    code = request_code(client, phone, purpose=purpose)
    return client.post("/api/v1/auth/miniprogram/bind",
                       json={"ticket": ticket, "phone": phone, "code": code}, expect=expect)


@pytest.mark.parametrize("platform_name", ["wechat", "alipay"])
def test_an_unbound_mini_program_user_binds_once_then_signs_in_directly(client, platform,
                                                                        platform_name):
    code = platform.issue_code(platform_name, "platform-user-1")
    unbound = miniprogram(client, platform_name, code, expect=403).get_json()
    assert unbound["error"] == "miniprogram_unbound"
    assert unbound["otp_purpose"] == "miniprogram_bind" and unbound["ticket"]
    tokens = bind(client, unbound["ticket"]).get_json()
    assert tokens["user"]["role"] == "citizen"

    again = miniprogram(client, platform_name, platform.issue_code(platform_name,
                                                                   "platform-user-1"),
                        expect=200).get_json()
    assert again["user"]["id"] == tokens["user"]["id"]
    me = client.get("/api/v1/me", headers=bearer(again), expect=200).get_json()
    assert me["phone"] == "138****8000"


def test_binding_reaches_the_existing_citizen_with_that_phone(client, platform):
    citizen = sign_in(client)
    open_windows()
    unbound = miniprogram(client, "wechat", platform.issue_code("wechat", "o-1"),
                          expect=403).get_json()
    assert bind(client, unbound["ticket"]).get_json()["user"]["id"] == citizen["user"]["id"]


def test_the_platform_session_key_never_leaves_the_server_nor_rests_in_the_clear(
        client, platform):
    code = platform.issue_code("wechat", "o-secret", session_key="SESSION-KEY-abc123")
    unbound = miniprogram(client, "wechat", code, expect=403)
    tokens = bind(client, unbound.get_json()["ticket"])
    answers = unbound.get_data(as_text=True) + tokens.get_data(as_text=True)
    assert "SESSION-KEY-abc123" not in answers and "o-secret" not in answers
    [binding] = PlatformBinding._get_collection().find()
    assert "SESSION-KEY-abc123" not in str(binding) and "o-secret" not in str(binding)
    assert binding["session_key_encrypted"]


def test_a_binding_ticket_works_once_and_needs_a_binding_code(client, platform):
    unbound = miniprogram(client, "wechat", platform.issue_code("wechat", "o-2"),
                          expect=403).get_json()
    refused = bind(client, unbound["ticket"], purpose="login", expect=401).get_json()
    assert refused["error"] == "otp_expired"  # no live code for this purpose
    open_windows()
    bind(client, unbound["ticket"], expect=200)
    open_windows()
    again = bind(client, unbound["ticket"], expect=401).get_json()
    assert again["error"] == "binding_ticket_invalid"


def test_a_used_or_unknown_platform_code_is_401(client, platform):
    code = platform.issue_code("wechat", "o-3")
    miniprogram(client, "wechat", code, expect=403)
    body = miniprogram(client, "wechat", code, expect=401).get_json()
    assert body["error"] == "miniprogram_code_invalid"
    miniprogram(client, "alipay", "never-issued", expect=401)


def test_a_platform_outage_is_503(client, platform):
    platform.unavailable = True
    body = miniprogram(client, "wechat", platform.issue_code("wechat", "o-4"),
                       expect=503).get_json()
    assert body["error"] == "miniprogram_unavailable"


def test_an_unknown_platform_is_422(client):
    miniprogram(client, "douyin", "x", expect=422)


open_windows = close_rate_limit_windows


# ── Which tokens a protected view lets through ────────────────────────────────────────────────


def call_view(app, token, **requirements):
    @auth_required(**requirements)
    def view():
        return "ok"

    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        return view()


def test_partner_tokens_pass_only_where_a_scope_they_hold_is_named(app):
    partner, _ = make_partner(scopes=["tasks:read"])
    token = partner_token(partner)
    assert call_view(app, token, scope="tasks:read") == "ok"
    assert call_view(app, token, role="officer", scope="tasks:read") == "ok"
    for requirements in ({}, {"scope": "tasks:write"}, {"role": "officer"}):
        with pytest.raises(Forbidden):
            call_view(app, token, **requirements)
    citizen_token = client_token(make_citizen())
    with pytest.raises(Forbidden):  # a route for partners only is closed to users
        call_view(app, citizen_token, scope="tasks:read")
    assert call_view(app, citizen_token) == "ok"
    partner_accounts.update_partner(partner_id=str(partner.id), active=False)
    with pytest.raises(Unauthorized):  # disabled since the token was issued
        call_view(app, token, scope="tasks:read")


def client_token(user) -> str:
    return issue_access_token(user)[0]
