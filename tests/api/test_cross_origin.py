"""Browsers: only the configured web-views' origins may read answers (CORS), every answer says
nosniff and no-referrer, and production adds HSTS."""
import pytest

from api import create_app

WEB_VIEW = "https://h5.onething.example.gov.cn"
STRANGER = "https://evil.example.com"


@pytest.fixture(scope="module")
def cors_client(app):
    # The session's database, with one web-view origin configured.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORS_ORIGINS", f'["{WEB_VIEW}"]')
        configured = create_app("test")
    return configured.test_client()


def preflight(client, origin, method="POST", headers="Authorization, Idempotency-Key"):
    return client.options("/api/v1/applications", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def test_a_configured_origin_may_read_answers(cors_client):
    answer = cors_client.get("/api/v1/bundles", headers={"Origin": WEB_VIEW})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == WEB_VIEW
    assert "Access-Control-Allow-Credentials" not in answer.headers  # bearer tokens only
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]


def test_another_origin_gets_no_permission(cors_client):
    answer = cors_client.get("/api/v1/bundles", headers={"Origin": STRANGER})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_answers_say_they_vary_by_origin_so_no_cache_hands_one_origins_to_another(cors_client):
    # One origin configured: flask-cors alone would not say so (it does for several).
    for origin in (WEB_VIEW, STRANGER, None):
        answer = cors_client.get("/api/v1/bundles", headers={"Origin": origin} if origin else {})
        assert "Origin" in answer.headers.get("Vary", ""), origin
    assert "Origin" in preflight(cors_client, WEB_VIEW).headers.get("Vary", "")


def test_a_preflight_from_the_web_view_allows_signed_in_writes(cors_client):
    answer = preflight(cors_client, WEB_VIEW)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == WEB_VIEW
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = answer.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    assert int(answer.headers["Access-Control-Max-Age"]) == 600


def test_a_preflight_from_elsewhere_or_with_strange_headers_is_not_allowed(cors_client):
    assert "Access-Control-Allow-Origin" not in preflight(cors_client, STRANGER).headers
    odd = preflight(cors_client, WEB_VIEW, headers="X-Admin-Override")
    assert "Access-Control-Allow-Headers" not in odd.headers


def test_without_configured_origins_no_browser_may_read(app):
    client = app.test_client()
    answer = client.get("/api/v1/bundles", headers={"Origin": WEB_VIEW})
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Origin" not in preflight(client, WEB_VIEW).headers


def test_error_answers_carry_the_headers_too_and_production_adds_hsts(app, client,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    for answer in (client.get("/api/v1/me"), client.post("/api/v1/auth/otp", json=[]),
                   client.get("/api/v1/bundles")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Strict-Transport-Security"] == \
            "max-age=31536000; includeSubDomains"
