"""What an outside probe found answering 500 now answers in the one error shape, unsigned too."""
import json
from datetime import date

import pytest

from services.identity.numbers import make_id_number
from tests.api.test_sessions import make_staff, request_code, sign_in, staff_login
from tests.helpers import close_rate_limit_windows, make_citizen

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_a_page_beyond_any_page_is_422_not_a_database_overflow(as_officer):
    officer = as_officer("public_security")
    answer = officer.get("/api/v1/workbench/tasks?page=1000000000000000000", expect=422)
    assert "page" in answer.get_json()["errors"]
    officer.get("/api/v1/workbench/tasks?page=2&page_size=100000", expect=422)
    officer.get("/api/v1/workbench/tasks?page=2", expect=200)


def test_json_nested_a_thousand_deep_is_400_before_anything_reads_it(client):
    body = "[" * 1000 + "]" * 1000
    answer = client.post("/api/v1/auth/otp", data=body, content_type="application/json",
                         expect=400).get_json()
    assert answer["error"] == "json_too_deep"
    assert set(answer) == {"code", "status", "error", "message", "errors"}


@pytest.mark.parametrize("path", ["/api/v1/auth/staff-login", "/api/v1/auth/refresh",
                                  "/api/v1/auth/logout", "/api/v1/auth/token",
                                  "/api/v1/auth/miniprogram", "/api/v1/auth/otp"])
def test_a_lone_surrogate_in_a_string_is_422(client, path):
    body = '{"username": "\\ud800", "password": "x", "refresh_token": "\\ud800", ' \
           '"phone": "\\udfff", "code": "\\ud800", "platform": "wechat", ' \
           '"grant_type": "client_credentials", "client_id": "\\ud800", "client_secret": "x"}'
    answer = client.post(path, data=body, content_type="application/json", expect=422)
    assert answer.get_json()["error"] == "validation_failed"


def test_signed_in_routes_refuse_lone_surrogates_and_control_characters_too(as_citizen):
    for path, body in [("/api/v1/applications", {"bundle": "\ud800"}),
                       ("/api/v1/me/devices", {"token": "a\x00b", "platform": "android"}),
                       ("/api/v1/assistant/messages", {"text": "hi\ud83d"})]:
        raw = json.dumps(body)  # escapes the surrogate as \\ud800, as a client would send it
        as_citizen.post(path, data=raw, content_type="application/json",
                        headers={"Idempotency-Key": "k-1"}, expect=422)
    as_citizen.patch("/api/v1/me", data=json.dumps({"name": "\ud800"}),
                     content_type="application/json", expect=422)


def test_a_pair_of_surrogates_is_an_ordinary_character(client):
    make_staff()
    body = json.dumps({"username": "officer.public_security", "password": "😀wrong-password"})
    client.post("/api/v1/auth/staff-login", data=body, content_type="application/json",
                expect=401)
    staff_login(client, "officer.public_security", "onething-dev")



def test_a_phone_written_with_other_digits_is_the_same_phone(client):
    first = sign_in(client, phone="13800000001")
    for variant in ("13８00000001", "١٣800000001", "１３８００００００01"):
        client.post("/api/v1/auth/otp", json={"phone": variant}, expect=429)  # the same limit
    close_rate_limit_windows()
    code = request_code(client, "13８00000001")
    again = client.post("/api/v1/auth/login", json={"phone": "13８00000001",
                                                    "code": code.translate(FULL_WIDTH)},
                        expect=200).get_json()
    assert again["user"]["id"] == first["user"]["id"]


def test_an_id_number_written_with_other_digits_is_the_same_id_number(client):
    first, second = make_citizen(), make_citizen()
    id_number = make_id_number("330381", date(1990, 1, 2), 12, "male")
    client.as_(first).post("/api/v1/me/real-name", json={"name": "张三", "id_number": id_number},
                           expect=200)
    disguised = id_number[:5] + "١" + id_number[6:] if id_number[5] == "1" else (
        id_number[:5] + chr(0x0660 + int(id_number[5])) + id_number[6:])
    taken = client.as_(second).post("/api/v1/me/real-name",
                                    json={"name": "李四", "id_number": disguised},
                                    expect=409).get_json()
    assert taken["error"] == "id_number_taken"


def test_every_answer_says_nosniff_and_no_referrer(client):
    for path in ("/healthz", "/api/v1/bundles", "/nope"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in headers  # development and test: plain HTTP


def test_a_query_parameter_the_operation_does_not_declare_is_422_and_changes_nothing(
        as_officer, as_citizen):
    officer = as_officer("public_security")
    refused = officer.get("/api/v1/workbench/tasks/counts", query_string={"page_size": 5},
                          expect=422).get_json()
    assert refused["error"] == "validation_failed"
    assert refused["errors"] == {"query": {"page_size": ["Unknown parameter."]}}
    officer.get("/api/v1/workbench/tasks/counts", query_string={"bundle": "newborn"}, expect=200)
    # Pagination's parameters are the operation's own where it pages.
    officer.get("/api/v1/workbench/tasks", query_string={"page": 1, "page_size": 5,
                                                          "status": "pending"}, expect=200)
    # An operation without any query parameter refuses one too, writes included.
    as_citizen.get("/api/v1/me/family", query_string={"x": "1"}, expect=422)
    as_citizen.post("/api/v1/me/family", query_string={"debug": "1"}, expect=422,
                    json={"relation": "child", "name": "X", "birth_date": "2025-01-01"})
    assert as_citizen.get("/api/v1/me/family", expect=200).get_json() == []
    chinese = as_citizen.get("/api/v1/me/family", query_string={"x": "1"},
                             headers={"Accept-Language": "zh-CN"}, expect=422).get_json()
    assert chinese["errors"] == {"query": {"x": ["未知的参数。"]}}
