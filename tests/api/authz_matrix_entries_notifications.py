"""Authorization matrix entries of notifications: the inbox and its live feed, push devices,
preferences, failed deliveries and webhook replays (see authz_matrix.py)."""
import itertools
from datetime import timedelta

from flask import current_app

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, delivery_id
from models.partner import Partner
from notifications import relay
from services.inbox import notifications
from tests.api.authz_matrix import Call, Entry, admin_only, by_actor, citizen_only, signed_in
from tests.notifications.support import application_with, completed

ENTRIES: dict[str, Entry] = {}
_sequence = itertools.count(1)


def _notification(world) -> Notification:
    """A fresh notification in citizen A's inbox, relayed from an application's outbox as the
    workflow leaves it (the relay also queues its push delivery)."""
    intent = completed(world.citizen_a)
    application_with(world.citizen_a, [intent])
    relay.relay_pending()
    return Notification.objects.get(id=intent["id"])


def _inbox(world) -> Notification:
    """Citizen A's notification, made once per route: every actor names the same one."""
    if getattr(world, "inbox_notification", None) is None:
        world.inbox_notification = _notification(world)
    return world.inbox_notification


def _failed_delivery(world) -> str:
    """A fresh push delivery of citizen A's that spent its retry budget, as the worker leaves it
    (a retry by one actor does not spoil the next)."""
    notification = _notification(world)
    key = delivery_id(notification.id, "push")
    Delivery._get_collection().update_one(
        {"_id": key},
        {"$set": {"status": DeliveryStatus.FAILED.value, "updated_at": utcnow(),
                  "attempts": int(current_app.config["NOTIFICATION_MAX_ATTEMPTS"]),
                  "last_error": "UNAVAILABLE; retry budget spent"}})
    return key


def _events(world, actor):
    _inbox(world)
    # Last-Event-ID 0 asks for everything: citizen A's stream would replay their notification.
    return Call("/api/v1/me/events", headers={"Last-Event-ID": "0"})


def _inbox_route(path: str):
    """A route of the caller's own inbox, with citizen A's notification in theirs."""
    def build(world, actor):
        _inbox(world)
        return path
    return build


def _devices(world, actor):
    _device(world)
    return "/api/v1/me/devices"


def _device(world) -> str:
    device, _ = notifications.register_device(
        user_id=str(world.citizen_a.id), token=f"fcm-matrix-a-{next(_sequence)}",
        platform="android", locale="en")
    return str(device.id)


def _new_device(world, actor):
    # A token of the caller's own install: a token is one install and moves to whoever
    # registers it, so each actor brings a different one.
    return Call("/api/v1/me/devices", json={"token": f"fcm-matrix-{actor}-{next(_sequence)}",
                                            "platform": "ios", "locale": "zh-CN"})


def _preferences(world, actor):
    return Call("/api/v1/me/notification-preferences", json={
        "channels": {"push": True, "miniprogram": False, "sms": True},
        "quiet_hours": {"start": "22:00", "end": "07:00"}, "timezone": "Asia/Shanghai"})


def _subscriptions(world, actor):
    # The citizen closed the prompt without choosing (the test configuration has no templates).
    return Call("/api/v1/me/miniprogram-subscriptions",
                json={"platform": "wechat", "accepted": [], "rejected": []})


def _failed(world, actor):
    if getattr(world, "listed_failure", None) is None:
        world.listed_failure = _failed_delivery(world)
    return "/api/v1/admin/notifications/failed"


def _replay(world, actor):
    """The partner has a webhook for every event; citizen A's notification is one to replay."""
    _inbox(world)
    Partner.objects(id=world.partner.id).update(set__webhook_url="http://127.0.0.1:9/hooks",
                                               set__events=["*"])
    return Call("/api/v1/partner/webhooks/replay",
                json={"since": (utcnow() - timedelta(hours=1)).isoformat()})


# Another person's notification is not found, whoever asks (staff included).
NOT_THEIRS = {"citizen_b": 404, "officer": 404, "officer_other": 404, "officer_elsewhere": 404,
              "clerk": 404, "agent": 404, "agent_other": 404, "admin": 404}

ENTRIES.update({
    # Citizens read their notifications; staff read the workflow's alerts to them.
    "GET /api/v1/me/events": Entry(_events, signed_in(200)),
    "GET /api/v1/me/notifications": Entry(
        _inbox_route("/api/v1/me/notifications"), signed_in(200)),
    "POST /api/v1/me/notifications/<notification_id>/read": Entry(
        lambda w, a: f"/api/v1/me/notifications/{_inbox(w).id}/read",
        signed_in(200, **NOT_THEIRS)),
    "POST /api/v1/me/notifications/read-all": Entry(
        _inbox_route("/api/v1/me/notifications/read-all"), signed_in(200)),
    # Push devices, preferences and mini-program subscriptions are the citizen's alone.
    "GET /api/v1/me/devices": Entry(_devices, citizen_only(200)),
    "POST /api/v1/me/devices": Entry(_new_device, citizen_only(201)),
    "DELETE /api/v1/me/devices/<device_id>": Entry(
        lambda w, a: f"/api/v1/me/devices/{_device(w)}", citizen_only(204, citizen_b=404)),
    "GET /api/v1/me/notification-preferences": Entry(
        lambda w, a: "/api/v1/me/notification-preferences", citizen_only(200)),
    "PUT /api/v1/me/notification-preferences": Entry(_preferences, citizen_only(200)),
    "POST /api/v1/me/miniprogram-subscriptions": Entry(_subscriptions, citizen_only(200)),
    # What could not be delivered: admins only.
    "GET /api/v1/admin/notifications/failed": Entry(_failed, admin_only(200)),
    "POST /api/v1/admin/notifications/failed/<delivery_id>/retry": Entry(
        lambda w, a: f"/api/v1/admin/notifications/failed/{_failed_delivery(w)}/retry",
        admin_only(200)),
    # Partners with the webhooks scope only; no user token opens it.
    "POST /api/v1/partner/webhooks/replay": Entry(
        _replay, by_actor(403, anonymous=401, partner=202)),
})
