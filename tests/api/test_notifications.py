"""The citizen's inbox, devices and notification preferences, and the admins' failed list."""
import pytest

from models.device import Device
from models.notification import Delivery
from notifications import relay, templates
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_officer, make_partner, partner_token
from tests.notifications.support import application_with, completed, intent

INBOX = "/api/v1/me/notifications"
DEVICES = "/api/v1/me/devices"
PREFERENCES = "/api/v1/me/notification-preferences"
SUBSCRIPTIONS = "/api/v1/me/miniprogram-subscriptions"


@pytest.fixture(autouse=True)
def fresh_names():
    templates.names.clear()


def deliver(citizen, *intents):
    application_with(citizen, list(intents))
    relay.relay_pending()
    return [i["id"] for i in intents]


# ── The inbox ─────────────────────────────────────────────────────────────────────────────────


def test_the_inbox_shows_notifications_newest_first_with_the_unread_count(as_citizen, citizen):
    ws.load_catalogue()
    ids = deliver(citizen, intent("application_received", citizen), completed(citizen))

    inbox = as_citizen.get(INBOX, expect=200).get_json()

    assert [n["id"] for n in inbox["items"]] == ids[::-1]
    assert inbox["unread"] == 2 and inbox["total"] == 2
    newest = inbox["items"][0]
    assert newest["title"] == "Public Security Bureau finished"
    assert newest["body"].endswith("issued: Baby's citizen ID number.")
    assert (newest["type"], newest["read"], newest["seq"]) == ("task_completed", False, 2)


def test_reading_the_inbox_costs_at_most_two_database_commands_whatever_its_size(as_citizen,
                                                                                 citizen):
    ids = deliver(citizen, *[completed(citizen, matter=f"m{n}") for n in range(12)])
    as_citizen.post(f"{INBOX}/{ids[0]}/read", expect=200)

    first = as_citizen.get(INBOX, expect=200)
    later = as_citizen.get(f"{INBOX}?page=2&page_size=5", expect=200)
    unread = as_citizen.get(f"{INBOX}?unread=true&page_size=100", expect=200)
    empty = as_citizen.get(f"{INBOX}?page=9", expect=200)

    for response in (first, later, unread, empty):
        assert int(response.headers["X-DB-Commands"]) <= 2
    assert [n["id"] for n in later.get_json()["items"]] == ids[6:1:-1]
    assert {k: later.get_json()[k] for k in ("unread", "total", "page", "page_size")} == {
        "unread": 11, "total": 12, "page": 2, "page_size": 5}
    assert (unread.get_json()["total"], len(unread.get_json()["items"])) == (11, 11)
    assert ids[0] not in [n["id"] for n in unread.get_json()["items"]]
    assert (empty.get_json()["items"], empty.get_json()["total"]) == ([], 12)


def test_an_empty_inbox_counts_nothing(as_citizen):
    inbox = as_citizen.get(INBOX, expect=200).get_json()

    assert inbox == {"items": [], "unread": 0, "total": 0, "page": 1, "page_size": 20}


def test_the_inbox_speaks_the_callers_language(as_citizen, citizen):
    ws.load_catalogue()
    deliver(citizen, completed(citizen))

    chinese = as_citizen.with_headers(**{"Accept-Language": "zh-CN"})
    [item] = chinese.get(INBOX, expect=200).get_json()["items"]

    assert item["title"] == "公安局已办结"


def test_the_inbox_pages_and_filters_unread(as_citizen, citizen):
    ids = deliver(citizen, *[completed(citizen, matter=f"m{n}") for n in range(5)])
    as_citizen.post(f"{INBOX}/{ids[4]}/read", expect=200)

    page = as_citizen.get(f"{INBOX}?page=2&page_size=2", expect=200).get_json()
    unread = as_citizen.get(f"{INBOX}?unread=true&page_size=10", expect=200).get_json()

    assert [n["id"] for n in page["items"]] == [ids[2], ids[1]]
    assert (page["total"], page["page"], page["page_size"], page["unread"]) == (5, 2, 2, 4)
    assert [n["id"] for n in unread["items"]] == ids[3::-1]
    as_citizen.get(f"{INBOX}?page_size=1000", expect=422)


def test_marking_read_lowers_the_unread_count_and_is_harmless_twice(as_citizen, citizen):
    [nid] = deliver(citizen, completed(citizen))

    first = as_citizen.post(f"{INBOX}/{nid}/read", expect=200).get_json()
    again = as_citizen.post(f"{INBOX}/{nid}/read", expect=200).get_json()

    assert first["read"] is True and again["read_at"] == first["read_at"]
    assert as_citizen.get(INBOX, expect=200).get_json()["unread"] == 0


def test_another_citizens_notification_is_not_found(client, citizen):
    [nid] = deliver(citizen, completed(citizen))
    stranger = client.as_(make_citizen())

    stranger.post(f"{INBOX}/{nid}/read", expect=404)
    assert stranger.get(INBOX, expect=200).get_json()["items"] == []


def test_marking_everything_read(as_citizen, citizen):
    deliver(citizen, completed(citizen), completed(citizen))

    assert as_citizen.post(f"{INBOX}/read-all", expect=200).get_json() == {"marked": 2}
    assert as_citizen.get(INBOX, expect=200).get_json()["unread"] == 0


def test_an_officer_reads_the_workflows_alerts_to_them_in_their_own_inbox(client):
    ws.load_catalogue()
    officer = make_officer("public_security")
    deliver(officer, intent("task_overdue", officer, matter="newborn_household_registration",
                            department="public_security"))

    [alert] = client.as_(officer).get(INBOX, expect=200).get_json()["items"]

    assert alert["title"] == "Overdue: Newborn household registration"
    assert alert["body"] == ("“Newborn household registration” of a “A baby is born” "
                             "application in your queue is past its promised time.")
    assert not Delivery.objects(recipient=str(officer.id))  # the inbox only, no push or SMS


def test_anonymous_callers_and_partners_have_no_inbox(client):
    partner, _ = make_partner(scopes=["webhooks"])
    client.get(INBOX, expect=401)
    client.with_headers(Authorization=f"Bearer {partner_token(partner)}").get(INBOX, expect=403)


# ── Devices ───────────────────────────────────────────────────────────────────────────────────


def test_registering_a_device_twice_keeps_one_and_updates_it(as_citizen):
    created = as_citizen.post(DEVICES, json={"token": "fcm-token-1", "platform": "android",
                                             "locale": "en"}, expect=201).get_json()
    again = as_citizen.post(DEVICES, json={"token": "fcm-token-1", "platform": "android",
                                           "locale": "zh-CN"}, expect=200).get_json()

    assert again["id"] == created["id"] and again["locale"] == "zh-CN"
    assert [d["token"] for d in as_citizen.get(DEVICES, expect=200).get_json()] == [
        "fcm-token-1"]


def test_a_token_registered_by_another_citizen_moves_to_them(client, as_citizen, citizen):
    as_citizen.post(DEVICES, json={"token": "shared-phone", "platform": "ios"}, expect=201)
    newcomer = make_citizen()

    client.as_(newcomer).post(DEVICES, json={"token": "shared-phone", "platform": "ios"},
                              expect=201)

    assert as_citizen.get(DEVICES, expect=200).get_json() == []
    assert Device.objects.get(token="shared-phone").user == str(newcomer.id)


def test_only_the_newest_devices_are_kept(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_DEVICES_PER_USER", 2)
    for n in range(3):
        as_citizen.post(DEVICES, json={"token": f"t{n}", "platform": "web"}, expect=201)

    assert sorted(d["token"] for d in as_citizen.get(DEVICES, expect=200).get_json()) == [
        "t1", "t2"]


def test_removing_a_device_stops_it_and_others_devices_are_not_found(client, as_citizen):
    device = as_citizen.post(DEVICES, json={"token": "t", "platform": "web"},
                             expect=201).get_json()
    client.as_(make_citizen()).delete(f"{DEVICES}/{device['id']}", expect=404)

    as_citizen.delete(f"{DEVICES}/{device['id']}", expect=204)

    assert as_citizen.get(DEVICES, expect=200).get_json() == []
    as_citizen.delete(f"{DEVICES}/{device['id']}", expect=404)
    as_citizen.delete(f"{DEVICES}/not-an-id", expect=404)


def test_a_device_needs_a_token_and_a_known_platform(as_citizen):
    answer = as_citizen.post(DEVICES, json={"token": "", "platform": "symbian", "x": 1},
                             expect=422).get_json()

    assert set(answer["errors"]) == {"token", "platform", "x"}


# ── Preferences ───────────────────────────────────────────────────────────────────────────────


def test_preferences_start_with_every_channel_on_and_no_quiet_hours(as_citizen):
    assert as_citizen.get(PREFERENCES, expect=200).get_json() == {
        "channels": {"push": True, "miniprogram": True, "sms": True}, "quiet_hours": None,
        "timezone": None, "subscriptions": []}


def test_setting_channels_and_quiet_hours(as_citizen):
    wanted = {"channels": {"push": True, "miniprogram": False, "sms": False},
              "quiet_hours": {"start": "22:30", "end": "07:00"}, "timezone": "Europe/London"}

    saved = as_citizen.put(PREFERENCES, json=wanted, expect=200).get_json()

    assert {k: saved[k] for k in wanted} == wanted
    assert as_citizen.get(PREFERENCES, expect=200).get_json() == saved


@pytest.mark.parametrize("body, field", [
    ({"channels": {"push": True, "miniprogram": True, "sms": True},
      "quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
    ({"channels": {"push": True, "miniprogram": True, "sms": True},
      "quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours"),
    ({"channels": {"push": True, "miniprogram": True, "sms": True},
      "timezone": "Mars/Olympus"}, "timezone"),
    ({"channels": {"push": True}}, "channels"),
])
def test_bad_preferences_are_refused_and_change_nothing(as_citizen, body, field):
    answer = as_citizen.put(PREFERENCES, json=body, expect=422).get_json()

    assert field in answer["errors"]
    assert as_citizen.get(PREFERENCES, expect=200).get_json()["quiet_hours"] is None


def test_subscriptions_count_acceptances_and_refusals_clear_them(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MINIPROGRAM_TEMPLATES", {
        "wechat": {"task_completed": "tmpl-done", "supplement_requested": "tmpl-more"}})

    as_citizen.post(SUBSCRIPTIONS, json={"platform": "wechat",
                                         "accepted": ["tmpl-done", "tmpl-more"]}, expect=200)
    answer = as_citizen.post(SUBSCRIPTIONS, json={"platform": "wechat", "accepted": ["tmpl-done"],
                                                  "rejected": ["tmpl-more"]},
                             expect=200).get_json()

    assert sorted((s["template"], s["remaining"]) for s in answer["subscriptions"]) == [
        ("tmpl-done", 2), ("tmpl-more", 0)]
    unknown = as_citizen.post(SUBSCRIPTIONS, json={"platform": "wechat",
                                                   "accepted": ["tmpl-nope"]},
                              expect=422).get_json()
    assert "tmpl-nope" in unknown["message"]


def test_subscriptions_are_capped(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MINIPROGRAM_TEMPLATES",
                        {"wechat": {"task_completed": "tmpl-done"}})
    monkeypatch.setitem(app.config, "MINIPROGRAM_SUBSCRIPTION_CAP", 3)
    for _ in range(2):
        answer = as_citizen.post(SUBSCRIPTIONS, json={"platform": "wechat",
                                                      "accepted": ["tmpl-done"] * 2},
                                 expect=200).get_json()

    assert answer["subscriptions"][0]["remaining"] == 3


# ── Admins ────────────────────────────────────────────────────────────────────────────────────


def test_only_admins_see_failed_deliveries(as_citizen, as_admin):
    as_citizen.get("/api/v1/admin/notifications/failed", expect=403)
    answer = as_admin.get("/api/v1/admin/notifications/failed?channel=push",
                          expect=200).get_json()
    assert answer == {"items": [], "total": 0, "page": 1, "page_size": 20}
    as_admin.post("/api/v1/admin/notifications/failed/nope:push/retry", expect=404)
