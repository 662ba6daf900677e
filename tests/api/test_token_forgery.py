"""Forged, altered, expired and misused tokens: every one is a 401 with WWW-Authenticate."""
import base64
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.identity.tokens import REQUIRED_CLAIMS, issue_access_token
from tests.helpers import make_admin, make_citizen

ME = "/api/v1/me"


@pytest.fixture
def citizen_claims(app):
    citizen = make_citizen(phone="13800138000")
    now = datetime.now(UTC)
    return {"iss": app.config["JWT_ISSUER"], "aud": app.config["JWT_AUDIENCE"], "iat": now,
            "exp": now + timedelta(minutes=5), "sub": str(citizen.id), "jti": "j1",
            "typ": "access", "role": "citizen", "locale": "en"}


def sign(app, claims, key=None, kid="dev1", algorithm="HS256"):
    key = app.config["JWT_KEYS"]["dev1"] if key is None else key
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).decode().rstrip("=")


def assert_refused(client, token):
    response = client.get(ME, headers={"Authorization": f"Bearer {token}"}, expect=401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] in {"invalid_token", "unauthorized"}


def test_the_genuine_token_is_accepted(app, client, citizen_claims):
    client.get(ME, headers={"Authorization": f"Bearer {sign(app, citizen_claims)}"}, expect=200)


def test_alg_none_is_refused(client, citizen_claims):
    claims = {**citizen_claims, "iat": int(citizen_claims["iat"].timestamp()),
              "exp": int(citizen_claims["exp"].timestamp())}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dev1'})}.{b64(claims)}."
    assert_refused(client, unsigned)


def test_a_token_signed_with_another_key_is_refused(app, client, citizen_claims):
    assert_refused(client, sign(app, citizen_claims, key="not-our-key-" * 4))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_another_algorithm_with_our_key_is_refused(app, client, citizen_claims):
    assert_refused(client, sign(app, citizen_claims, algorithm="HS512"))


@pytest.mark.parametrize("claim,value", [("aud", "someone-else"), ("iss", "evil"),
                                         ("typ", "refresh"), ("role", "superuser"),
                                         ("sub", 12345)])
def test_wrong_audience_issuer_type_or_role_is_refused(app, client, citizen_claims, claim,
                                                       value):
    assert_refused(client, sign(app, {**citizen_claims, claim: value}))


def test_an_expired_token_is_refused(app, client, citizen_claims):
    past = datetime.now(UTC) - timedelta(hours=1)
    assert_refused(client, sign(app, {**citizen_claims, "iat": past,
                                      "exp": past + timedelta(minutes=15)}))


def test_a_token_issued_in_the_future_is_refused(app, client, citizen_claims):
    later = datetime.now(UTC) + timedelta(hours=1)
    assert_refused(client, sign(app, {**citizen_claims, "iat": later,
                                      "exp": later + timedelta(minutes=15)}))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(app, client, citizen_claims, claim):
    claims = dict(citizen_claims)
    del claims[claim]
    assert_refused(client, sign(app, claims))


@pytest.mark.parametrize("kid", ["gone", None, ""])
def test_an_unknown_or_missing_key_id_is_refused(app, client, citizen_claims, kid):
    assert_refused(client, sign(app, citizen_claims, kid=kid))


def test_a_tampered_payload_is_refused(app, client, citizen_claims):
    header, _, signature = sign(app, citizen_claims).split(".")
    claims = {**citizen_claims, "role": "admin", "iat": int(citizen_claims["iat"].timestamp()),
              "exp": int(citizen_claims["exp"].timestamp())}
    assert_refused(client, f"{header}.{b64(claims)}.{signature}")


def test_a_refresh_token_is_not_an_access_token(client):
    code = client.post("/api/v1/auth/otp", json={"phone": "13900139000"},
                       expect=202).get_json()["debug_code"]
    tokens = client.post("/api/v1/auth/login", json={"phone": "13900139000", "code": code},
                         expect=200).get_json()
    assert_refused(client, tokens["refresh_token"])


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz",
                                    "Bearer not.a.jwt", "Bearer a.b"])
def test_a_missing_or_malformed_authorization_header_is_refused(client, header):
    response = client.get(ME, headers={"Authorization": header} if header else {}, expect=401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_partner_claim_without_scopes_is_refused(app, client, citizen_claims):
    assert_refused(client, sign(app, {**citizen_claims, "role": "partner"}))


def test_keys_rotate_without_signing_anyone_out(app, client, monkeypatch):
    citizen = make_citizen()
    old_token, _ = issue_access_token(citizen)
    monkeypatch.setitem(app.config, "JWT_KEYS", {**app.config["JWT_KEYS"],
                                                 "k2": "second-key-" + "x" * 32})
    monkeypatch.setitem(app.config, "JWT_ACTIVE_KID", "k2")
    new_token, _ = issue_access_token(citizen)
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    for token in (old_token, new_token):
        client.get(ME, headers={"Authorization": f"Bearer {token}"}, expect=200)
    monkeypatch.setitem(app.config, "JWT_KEYS", {"k2": app.config["JWT_KEYS"]["k2"]})
    assert_refused(client, old_token)  # a retired key verifies nothing any more


def test_a_genuine_admin_token_is_no_citizen_token(client):
    client.as_(make_admin()).get(ME, expect=403)


def test_a_token_accepted_before_is_refused_once_it_expires(app, client):
    token, ttl = issue_access_token(make_citizen(), ttl=1)
    client.get(ME, headers={"Authorization": f"Bearer {token}"}, expect=200)

    time.sleep(ttl + 0.1)

    assert_refused(client, token)
