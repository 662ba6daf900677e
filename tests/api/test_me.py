"""The signed-in citizen: profile, real-name verification, family, and what the database keeps."""
from datetime import UTC, date, datetime

from models.connection import database
from services.identity import numbers
from tests.helpers import (
    close_rate_limit_windows,
    make_citizen,
    make_family_member,
    make_partner,
)

ID_NUMBER = numbers.make_id_number("330381", date(1990, 3, 7), 123, "male")
SPOUSE_ID = numbers.make_id_number("330381", date(1991, 8, 20), 45, "female")


def test_my_profile_shows_a_masked_phone_and_my_real_name_status(client):
    citizen = make_citizen(phone="13812345678", name="Zhou Lei")
    me = client.as_(citizen).get("/api/v1/me", expect=200).get_json()
    assert me["phone"] == "138****5678" and me["name"] == "Zhou Lei"
    assert me["real_name_verified"] is False and me["id_number"] is None
    assert me["locale"] == "en" and me["role"] == "citizen"


def test_i_can_change_my_name_and_language_and_nothing_else(client):
    as_citizen = client.as_(make_citizen(phone="13812345678"))
    me = as_citizen.patch("/api/v1/me", json={"name": "周磊", "locale": "zh-CN"},
                          expect=200).get_json()
    assert me["name"] == "周磊" and me["locale"] == "zh-CN"
    for field, value in [("phone", "13900000000"), ("role", "admin"),
                         ("real_name_verified", True)]:
        body = as_citizen.patch("/api/v1/me", json={field: value}, expect=422).get_json()
        assert field in body["errors"]
    as_citizen.patch("/api/v1/me", json={"locale": "fr"}, expect=422)
    assert as_citizen.get("/api/v1/me", expect=200).get_json()["role"] == "citizen"


def test_real_name_verification_checks_the_id_number_and_masks_it(client):
    as_citizen = client.as_(make_citizen(phone="13812345678"))
    me = as_citizen.post("/api/v1/me/real-name", json={"name": "周磊", "id_number": ID_NUMBER},
                         expect=200).get_json()
    assert me["real_name_verified"] is True and me["name"] == "周磊"
    assert me["id_number"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert me["birth_date"] == "1990-03-07" and me["gender"] == "male"
    # The same answer twice is fine; a different one is not, and the name is now fixed.
    as_citizen.post("/api/v1/me/real-name", json={"name": "周磊", "id_number": ID_NUMBER},
                    expect=200)
    body = as_citizen.post("/api/v1/me/real-name", json={"name": "周磊", "id_number": SPOUSE_ID},
                           expect=409).get_json()
    assert body["error"] == "already_verified"
    assert as_citizen.patch("/api/v1/me", json={"name": "Other"},
                            expect=409).get_json()["error"] == "name_verified"


def test_bad_id_numbers_are_refused_with_a_reason(client):
    as_citizen = client.as_(make_citizen())
    good = ID_NUMBER
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    future = numbers.make_id_number("330381", date(datetime.now(UTC).year + 1, 1, 1), 1, "male")
    no_such_day = "33038119900230" + "1234"
    unknown_province = "99" + good[2:17]
    unknown_province += numbers.id_check_character(unknown_province)
    for number, words in [(wrong_check, "check digit"), (future, "not possible"),
                          (no_such_day, "does not exist"), (unknown_province, "region"),
                          ("33038119900307123", "17 digits")]:
        body = as_citizen.post("/api/v1/me/real-name", json={"name": "A", "id_number": number},
                               expect=422).get_json()
        assert body["error"] == "invalid_id_number" and words in body["errors"]["id_number"][0]
    assert as_citizen.get("/api/v1/me").get_json()["real_name_verified"] is False


def test_one_id_number_belongs_to_one_account(client):
    client.as_(make_citizen()).post("/api/v1/me/real-name",
                                    json={"name": "周磊", "id_number": ID_NUMBER}, expect=200)
    body = client.as_(make_citizen()).post(
        "/api/v1/me/real-name", json={"name": "周磊", "id_number": ID_NUMBER.lower()},
        expect=409).get_json()
    assert body["error"] == "id_number_taken"


def test_i_add_a_newborn_child_and_a_spouse_and_list_them(client):
    as_citizen = client.as_(make_citizen())
    today = datetime.now(UTC).date().isoformat()
    child = as_citizen.post("/api/v1/me/family", json={
        "relation": "child", "name": "Baby Zhou", "birth_date": today}, expect=201).get_json()
    assert child["minor"] is True and child["id_number"] is None
    spouse = as_citizen.post("/api/v1/me/family", json={
        "relation": "spouse", "name": "Wang Fang", "id_number": SPOUSE_ID}, expect=201).get_json()
    assert spouse["id_number"] == SPOUSE_ID[:6] + "********" + SPOUSE_ID[-4:]
    assert spouse["birth_date"] == "1991-08-20" and spouse["minor"] is False
    assert spouse["gender"] == "female"
    family = as_citizen.get("/api/v1/me/family", expect=200).get_json()
    assert [m["relation"] for m in family] == ["child", "spouse"]


def test_family_rules_one_spouse_nobody_twice_children_need_a_birth_date(client):
    as_citizen = client.as_(make_citizen(id_number=ID_NUMBER))
    as_citizen.post("/api/v1/me/family", json={"relation": "spouse", "name": "W",
                                               "id_number": SPOUSE_ID}, expect=201)
    assert as_citizen.post("/api/v1/me/family", json={"relation": "spouse", "name": "X"},
                           expect=409).get_json()["error"] == "spouse_exists"
    assert as_citizen.post("/api/v1/me/family", json={
        "relation": "parent", "name": "W again", "id_number": SPOUSE_ID},
        expect=409).get_json()["error"] == "family_member_exists"
    assert "birth_date" in as_citizen.post("/api/v1/me/family", json={
        "relation": "child", "name": "C"}, expect=422).get_json()["errors"]
    assert "birth_date" in as_citizen.post("/api/v1/me/family", json={
        "relation": "child", "name": "C", "birth_date": "2999-01-01"},
        expect=422).get_json()["errors"]
    assert "id_number" in as_citizen.post("/api/v1/me/family", json={
        "relation": "parent", "name": "Me?", "id_number": ID_NUMBER},
        expect=422).get_json()["errors"]
    as_citizen.post("/api/v1/me/family", json={"relation": "cousin", "name": "C"}, expect=422)


def test_removing_a_family_member_and_someone_elses_looks_like_not_found(client):
    owner, stranger = make_citizen(), make_citizen()
    member = make_family_member(owner)
    missing = client.as_(owner).delete("/api/v1/me/family/000000000000000000000000",
                                       expect=404).get_json()
    foreign = client.as_(stranger).delete(f"/api/v1/me/family/{member.id}",
                                          expect=404).get_json()
    assert foreign == missing
    client.as_(owner).delete("/api/v1/me/family/not-an-id", expect=404)
    client.as_(owner).delete(f"/api/v1/me/family/{member.id}", expect=204)
    assert client.as_(owner).get("/api/v1/me/family").get_json() == []


def test_the_family_list_is_mine_alone(client):
    owner, stranger = make_citizen(), make_citizen()
    make_family_member(owner)
    assert client.as_(stranger).get("/api/v1/me/family", expect=200).get_json() == []


def test_a_raw_look_at_every_collection_shows_no_phone_or_id_number(client, app, monkeypatch):
    phone, child_id = "13812345678", numbers.make_id_number("330381", date(2024, 6, 1), 7,
                                                              "female")
    code = client.post("/api/v1/auth/otp", json={"phone": phone},
                       expect=202).get_json()["debug_code"]
    tokens = client.post("/api/v1/auth/login", json={"phone": phone, "code": code},
                         expect=200).get_json()
    me = client.with_headers(Authorization=f"Bearer {tokens['access_token']}")
    me.post("/api/v1/me/real-name", json={"name": "周磊", "id_number": ID_NUMBER}, expect=200)
    me.post("/api/v1/me/family", json={"relation": "child", "name": "小周",
                                       "id_number": child_id}, expect=201)
    me.post("/api/v1/me/family", json={"relation": "spouse", "name": "王芳",
                                       "id_number": SPOUSE_ID.lower()}, expect=201)
    unbound = client.post("/api/v1/auth/miniprogram", json={"platform": "wechat", "code": "c1"},
                          expect=403).get_json()

    close_rate_limit_windows()
    bind_code = client.post("/api/v1/auth/otp", json={"phone": phone,
                                                      "purpose": "miniprogram_bind"},
                            expect=202).get_json()["debug_code"]
    client.post("/api/v1/auth/miniprogram/bind", json={"ticket": unbound["ticket"],
                                                       "phone": phone, "code": bind_code},
                expect=200)
    _, client_secret = make_partner()

    secrets = {phone, phone[3:], ID_NUMBER, child_id, SPOUSE_ID, SPOUSE_ID.lower(),
               tokens["refresh_token"], client_secret}
    db = database()
    scanned = 0
    for name in db.list_collection_names():
        for document in db[name].find():
            raw = repr(document)
            scanned += 1
            leaked = [s for s in secrets if s in raw]
            assert not leaked, f"{name} holds personal data in the clear: {document}"
    assert scanned >= 5
