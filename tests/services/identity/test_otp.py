"""SMS one-time codes: single use, bound to phone and purpose, few tries, limits in the database."""
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from common import crypto, rate_limits
from models.connection import database
from models.otp import OtpCode
from services.errors import ServiceUnavailable, TooManyRequests, Unauthorized
from services.identity import otp
from standins.sms_gateway import SmsGatewayStandin
from tests.helpers import close_rate_limit_windows
from tests.processes import ROOT

PHONE = "13800138000"


def send(phone=PHONE, purpose="login", client_ip="10.0.0.1") -> str:
    return otp.request_code(phone=phone, purpose=purpose, client_ip=client_ip).debug_code


age_windows = close_rate_limit_windows


def test_a_code_is_six_digits_and_works_exactly_once():
    code = send()
    assert len(code) == 6 and code.isdigit()
    otp.verify_code(phone=PHONE, purpose="login", code=code)
    with pytest.raises(Unauthorized) as used:
        otp.verify_code(phone=PHONE, purpose="login", code=code)
    assert used.value.error == "otp_expired"


def test_a_code_is_bound_to_its_phone_and_purpose():
    code = send()
    for phone, purpose in [("13900139000", "login"), (PHONE, "miniprogram_bind")]:
        with pytest.raises(Unauthorized):
            otp.verify_code(phone=phone, purpose=purpose, code=code)
    otp.verify_code(phone=PHONE, purpose="login", code=code)


def test_services_may_use_purposes_of_their_own():
    code = send(purpose="station_consent")
    with pytest.raises(Unauthorized):
        otp.verify_code(phone=PHONE, purpose="login", code=code)
    otp.verify_code(phone=PHONE, purpose="station_consent", code=code)


def test_after_five_wrong_tries_even_the_right_code_is_refused():
    code = send()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = []
    for _ in range(5):
        with pytest.raises(Unauthorized) as refused:
            otp.verify_code(phone=PHONE, purpose="login", code=wrong)
        messages.append(refused.value.en)
    assert "4 tries left" in messages[0] and "no tries are left" in messages[-1]
    with pytest.raises(Unauthorized):
        otp.verify_code(phone=PHONE, purpose="login", code=code)


def test_an_expired_code_is_refused():
    code = send()
    OtpCode.objects.update(set__expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(Unauthorized) as expired:
        otp.verify_code(phone=PHONE, purpose="login", code=code)
    assert expired.value.error == "otp_expired"


def test_a_new_code_replaces_the_previous_one():
    first = send()
    age_windows()
    second = send()
    if first != second:
        with pytest.raises(Unauthorized):
            otp.verify_code(phone=PHONE, purpose="login", code=first)
    otp.verify_code(phone=PHONE, purpose="login", code=second)


def test_the_database_holds_neither_the_code_nor_the_phone():
    code = send()
    raw = str(list(OtpCode._get_collection().find())) + str(list(database()["windows"].find()))
    assert code not in raw and PHONE not in raw and "10.0.0.1" not in raw


def test_a_phone_gets_one_code_a_minute_and_is_told_when_to_retry():
    send()
    with pytest.raises(TooManyRequests) as limited:
        send()
    assert 1 <= int(limited.value.headers["Retry-After"]) <= 61
    age_windows()
    assert send()


def test_a_phone_gets_ten_codes_a_day(app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_PHONE_PER_MINUTE", 100)
    for _ in range(10):
        send()
    with pytest.raises(TooManyRequests) as limited:
        send()
    assert int(limited.value.headers["Retry-After"]) > 23 * 3600
    assert send(phone="13900139000")  # another phone is not affected


def test_one_client_address_cannot_flood_many_phones(app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_CLIENT_PER_HOUR", 3)
    for n in range(3):
        send(phone=f"1390013900{n}")
    with pytest.raises(TooManyRequests):
        send(phone="13900139009")
    assert send(phone="13900139009", client_ip="10.0.0.2")


def test_concurrent_hits_never_exceed_the_limit(app):
    allowed = []

    def hit():
        with app.app_context():
            allowed.append(rate_limits.take("test:concurrent", limit=5, window=60) == 0)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


@pytest.mark.slow
def test_a_second_server_process_sees_the_same_send_limit(database_server):
    send()
    script = (
        "from api import create_app\n"
        "from services.identity import otp\n"
        "from services.errors import TooManyRequests\n"
        "with create_app('test').app_context():\n"
        "    try:\n"
        f"        otp.request_code(phone='{PHONE}', purpose='login', client_ip='10.9.9.9')\n"
        "        print('sent')\n"
        "    except TooManyRequests:\n"
        "        print('limited')\n")
    env = {**os.environ, "MONGODB_URI": database_server.uri, "APP_ENV": "test"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("limited"), result.stderr[-3000:]


def test_the_http_gateway_receives_a_signed_message_with_the_code(app, monkeypatch):
    with SmsGatewayStandin() as gateway:
        for key, value in gateway.settings().items():
            monkeypatch.setitem(app.config, key, value)
        code = send()
    assert gateway.rejected == []
    [message] = gateway.messages
    assert message["to"] == PHONE and code in message["text"]


def test_a_gateway_that_refuses_answers_503_and_leaves_no_usable_code(app, monkeypatch):
    with SmsGatewayStandin() as gateway:
        for key, value in gateway.settings().items():
            monkeypatch.setitem(app.config, key, value)
        gateway.fail(count=1, status=500)
        with pytest.raises(ServiceUnavailable) as failed:
            send()
    assert failed.value.error == "sms_unavailable"
    assert OtpCode.objects.count() == 0


def test_a_gateway_with_the_wrong_secret_is_refused(app, monkeypatch):
    with SmsGatewayStandin() as gateway:
        for key, value in {**gateway.settings(), "SMS_GATEWAY_SECRET": "wrong"}.items():
            monkeypatch.setitem(app.config, key, value)
        with pytest.raises(ServiceUnavailable):
            send()
    assert gateway.rejected == ["signature"] and gateway.messages == []


def test_without_the_debug_setting_the_code_is_not_handed_back(app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_DEBUG_CODE", False)
    sent = otp.request_code(phone=PHONE, purpose="login", client_ip=None)
    assert sent.debug_code is None and sent.expires_in == 300


def test_the_development_gateway_logs_only_a_masked_number(caplog):
    with caplog.at_level("INFO", logger="notifications.sms"):
        code = send()
    assert "138****8000" in caplog.text
    assert PHONE not in caplog.text and code not in caplog.text
    assert crypto.mask_phone(PHONE) == "138****8000"
