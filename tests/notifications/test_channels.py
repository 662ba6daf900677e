"""Mini-program subscription messages and partner webhooks, against stand-ins on 127.0.0.1."""
import base64
import json
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from common import crypto
from models.base import utcnow
from models.notification import Delivery
from models.preferences import NotificationPreferences
from models.user import PlatformBinding
from notifications import webhooks
from standins.miniprogram import MiniProgramPlatformStandin
from standins.webhooks import WebhookReceiver
from tests.helpers import make_partner, partner_token
from tests.notifications.support import application_with, completed, fast_worker


def drain(worker, now=None):
    for _ in range(20):
        if not worker.run_once(now):
            return


# ── Mini-program subscription messages ─────────────────────────────────────────────────────────


@pytest.fixture
def wechat(app, monkeypatch, citizen):
    with MiniProgramPlatformStandin() as platform:
        for key, value in platform.settings().items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setitem(app.config, "MINIPROGRAM_TEMPLATES",
                            {"wechat": {"task_completed": "tmpl-done"}})
        PlatformBinding(user=str(citizen.id), platform="wechat",
                        subject_index=crypto.blind_index("wechat", "openid-7"),
                        subject_encrypted=crypto.encrypt("openid-7")).save()
        yield platform


def sends(platform):
    return [r for r in platform.requests if r["path"] == "/cgi-bin/message/subscribe/send"]


def test_a_subscription_allows_exactly_one_message_per_acceptance(app, wechat, citizen,
                                                                  as_citizen):
    as_citizen.post("/api/v1/me/miniprogram-subscriptions",
                    json={"platform": "wechat", "accepted": ["tmpl-done"]}, expect=200)
    first, second = completed(citizen), completed(citizen, matter="citizen_card")
    application_with(citizen, [first, second])

    drain(fast_worker(app))

    [sent] = sends(wechat)
    message = json.loads(sent["raw"])
    assert sent["query"] == {"access_token": "wx-token"}
    assert (message["touser"], message["template_id"]) == ("openid-7", "tmpl-done")
    assert set(message["data"]) == {"thing1", "thing2", "time3"}
    assert all(len(v["value"]) <= 20 for v in message["data"].values())
    outcomes = sorted(Delivery.objects(channel="miniprogram").scalar("status"))
    assert outcomes == ["delivered", "skipped"]
    prefs = as_citizen.get("/api/v1/me/notification-preferences", expect=200).get_json()
    assert prefs["subscriptions"] == [{"platform": "wechat", "template": "tmpl-done",
                                       "remaining": 0}]


def test_the_platform_saying_the_subscription_is_gone_leaves_none(app, wechat, citizen,
                                                                 as_citizen):
    as_citizen.post("/api/v1/me/miniprogram-subscriptions",
                    json={"platform": "wechat", "accepted": ["tmpl-done", "tmpl-done"]},
                    expect=200)
    wechat.refuse_subscriptions = True  # WeChat answers 43101: no acceptance left
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    assert Delivery.objects.get(id=f"{item['id']}:miniprogram:wechat").status == "skipped"
    prefs = NotificationPreferences.objects.get(user=str(citizen.id))
    assert [s.remaining for s in prefs.subscriptions] == [0]


def test_without_a_subscription_nothing_is_sent_to_the_platform(app, wechat, citizen):
    application_with(citizen, [completed(citizen)])

    drain(fast_worker(app))

    assert sends(wechat) == []
    assert not Delivery.objects(channel="miniprogram")


def test_an_alipay_subscription_message_is_signed_and_names_the_template(app, citizen,
                                                                         as_citizen, monkeypatch):
    with MiniProgramPlatformStandin() as alipay:
        for key, value in alipay.settings().items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setitem(app.config, "MINIPROGRAM_TEMPLATES",
                            {"alipay": {"task_completed": "ali-tmpl"}})
        PlatformBinding(user=str(citizen.id), platform="alipay",
                        subject_index=crypto.blind_index("alipay", "2088102122458832"),
                        subject_encrypted=crypto.encrypt("2088102122458832")).save()
        as_citizen.post("/api/v1/me/miniprogram-subscriptions",
                        json={"platform": "alipay", "accepted": ["ali-tmpl"]}, expect=200)
        item = completed(citizen)
        application_with(citizen, [item])

        drain(fast_worker(app))

    [request] = alipay.requests
    params = dict(parse_qsl(request["raw"].decode()))
    signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])
    alipay.alipay_key.public_key().verify(base64.b64decode(params["sign"]), signed.encode(),
                                          padding.PKCS1v15(), hashes.SHA256())
    content = json.loads(params["biz_content"])
    assert params["method"] == "alipay.open.app.mini.templatemessage.send"
    assert (content["to_user_id"], content["user_template_id"]) == ("2088102122458832",
                                                                    "ali-tmpl")
    assert Delivery.objects.get(id=f"{item['id']}:miniprogram:alipay").status == "delivered"


# ── Partner webhooks ─────────────────────────────────────────────────────────────────────────


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def test_a_partner_receives_each_event_signed_and_can_verify_it(app, receiver, citizen):
    partner, _ = make_partner(webhook_url=receiver.url + "/hooks", events=["task_completed"])
    secret = partner.webhook_secret()
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    [request] = receiver.requests
    headers = request["headers"]
    assert headers["X-OneThing-Event-Id"] == item["id"]
    assert headers["X-OneThing-Signature"].startswith("v1=")
    assert webhooks.verify(secret, headers["X-OneThing-Timestamp"], request["raw"],
                           headers["X-OneThing-Signature"])
    assert not webhooks.verify("wrong secret", headers["X-OneThing-Timestamp"], request["raw"],
                               headers["X-OneThing-Signature"])
    event = json.loads(request["raw"])
    assert (event["id"], event["type"], event["data"]) == (item["id"], "task_completed",
                                                           {"outputs": ["citizen_id_number"]})
    assert "title" not in event and "recipient" not in event


def test_a_failing_partner_is_retried_with_the_same_event_id(app, receiver, citizen):
    make_partner(webhook_url=receiver.url, events=["*"])
    receiver.answers = [(503, {}), (500, {})]
    item = completed(citizen)
    application_with(citizen, [item])
    worker = fast_worker(app)
    start = utcnow()

    for step in range(4):
        drain(worker, start + timedelta(seconds=step))

    assert [r["headers"]["X-OneThing-Event-Id"] for r in receiver.requests] == [item["id"]] * 3
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.sends) == ("delivered", 3)


def test_a_partner_that_missed_events_replays_them(app, client, receiver, citizen):
    partner, _ = make_partner(webhook_url=receiver.url, events=["task_completed"])
    items = [completed(citizen), completed(citizen, matter="citizen_card")]
    application_with(citizen, items)
    worker = fast_worker(app)
    drain(worker)
    assert len(receiver.requests) == 2
    as_partner = client.with_headers(Authorization=f"Bearer {partner_token(partner)}")
    since = (utcnow() - timedelta(hours=1)).isoformat()

    answer = as_partner.post("/api/v1/partner/webhooks/replay", json={"since": since},
                             expect=202).get_json()
    drain(worker)

    assert (answer["queued"], answer["more"]) == (2, False)
    ids = [r["headers"]["X-OneThing-Event-Id"] for r in receiver.requests]
    assert sorted(ids[2:]) == sorted(ids[:2]) == sorted(i["id"] for i in items)


def test_replaying_needs_the_webhooks_scope_and_a_recent_since(client, receiver):
    partner, _ = make_partner(webhook_url=receiver.url, events=["*"],
                              scopes=["catalogue:read"])
    as_partner = client.with_headers(Authorization=f"Bearer {partner_token(partner)}")
    since = utcnow().isoformat()
    as_partner.post("/api/v1/partner/webhooks/replay", json={"since": since}, expect=403)

    entitled, _ = make_partner(webhook_url=receiver.url, events=["*"], scopes=["webhooks"])
    as_entitled = client.with_headers(Authorization=f"Bearer {partner_token(entitled)}")
    old = (utcnow() - timedelta(days=30)).isoformat()
    answer = as_entitled.post("/api/v1/partner/webhooks/replay", json={"since": old},
                              expect=422).get_json()
    assert "since" in answer["errors"]
    as_entitled.post("/api/v1/partner/webhooks/replay", json={"since": "2024-01-01T00:00:00"},
                     expect=422)
