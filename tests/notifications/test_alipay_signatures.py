"""Alipay's answers are believed only with the platform's RSA2 signature: the stand-in signs
with a key of its own, whose public half is our configured `public_key`."""
import pytest

from notifications.miniprogram import UntrustedAnswer, platform_client
from standins.miniprogram import MiniProgramPlatformStandin


@pytest.fixture
def alipay(app, monkeypatch):
    with MiniProgramPlatformStandin() as standin:
        for key, value in standin.settings().items():
            monkeypatch.setitem(app.config, key, value)
        yield standin


def sign_in(client, code, expect):
    return client.post("/api/v1/auth/miniprogram", json={"platform": "alipay", "code": code},
                       expect=expect).get_json()


def test_a_signed_answer_is_believed(alipay):
    code = alipay.issue_code("alipay", "2088000000000001")
    session = platform_client("alipay").exchange_code(code)
    assert session.subject == "2088000000000001"


def test_an_answer_changed_after_signing_is_refused(alipay):
    alipay.tamper_answers = True
    with pytest.raises(UntrustedAnswer, match="signature does not verify"):
        platform_client("alipay").exchange_code(alipay.issue_code("alipay", "2088000000000002"))


def test_a_tampered_sign_in_answer_signs_nobody_in(client, alipay):
    alipay.tamper_answers = True
    body = sign_in(client, alipay.issue_code("alipay", "2088000000000003"), expect=503)
    assert body["error"] == "miniprogram_answer_unverified"
    assert "verified" in body["message"]
    alipay.tamper_answers = False
    unbound = sign_in(client, alipay.issue_code("alipay", "2088000000000003"), expect=403)
    assert unbound["error"] == "miniprogram_unbound"  # the same user, believed once signed


def test_an_answer_signed_by_another_key_is_refused(app, alipay, monkeypatch):
    impostor = MiniProgramPlatformStandin()  # a key of its own, never started
    settings = alipay.settings()["MINIPROGRAM_PLATFORMS"]
    settings["alipay"]["public_key"] = \
        impostor.settings()["MINIPROGRAM_PLATFORMS"]["alipay"]["public_key"]
    impostor.stop()
    monkeypatch.setitem(app.config, "MINIPROGRAM_PLATFORMS", settings)
    with pytest.raises(UntrustedAnswer):
        platform_client("alipay").exchange_code(alipay.issue_code("alipay", "2088000000000004"))


def test_without_the_platform_key_nothing_is_believed(app, client, alipay, monkeypatch):
    settings = alipay.settings()["MINIPROGRAM_PLATFORMS"]
    settings["alipay"]["public_key"] = ""
    monkeypatch.setitem(app.config, "MINIPROGRAM_PLATFORMS", settings)
    body = sign_in(client, alipay.issue_code("alipay", "2088000000000005"), expect=503)
    assert body["error"] == "miniprogram_unavailable"
