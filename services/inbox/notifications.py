"""The citizen's side of notifications: inbox, devices, preferences, mini-program subscriptions,
the live event feed; and the admins' and partners' side: failed deliveries, webhook replays."""
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pymongo
from bson import ObjectId
from flask import current_app
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from models import indexed_writes
from models.base import utcnow
from models.device import Device
from models.notification import (
    NO_LEASE,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
)
from models.notification import delivery_id as make_delivery_id
from models.partner import Partner
from models.preferences import MiniProgramSubscription, NotificationPreferences, QuietHours
from notifications import miniprogram
from services.errors import NotFound, ValidationFailed

# ── Inbox ─────────────────────────────────────────────────────────────────────────────────────


def inbox(*, user_id: str, page: int = 1, page_size: int = 20,
          unread_only: bool = False) -> dict:
    """The citizen's notifications, newest first, one page, with how many are unread."""
    unread_stage = [{"$match": {"read_at": None}}]
    shown = unread_stage if unread_only else []
    # One command: the page and both counts from one pass over the citizen's notifications.
    rows = list(Notification._get_collection().aggregate([
        {"$match": {"recipient": user_id}},
        {"$facet": {
            "items": [*shown, {"$sort": {"seq": -1}}, {"$skip": (page - 1) * page_size},
                      {"$limit": page_size}],
            "total": [*shown, {"$count": "n"}],
            "unread": [*unread_stage, {"$count": "n"}],
        }},
    ]))
    result = rows[0] if rows else {}
    return {"items": [Notification._from_son(row) for row in result.get("items") or []],
            "unread": _counted(result.get("unread")), "total": _counted(result.get("total")),
            "page": page, "page_size": page_size}


def _counted(rows: list | None) -> int:
    # $count gives no row at all for nothing counted.
    return int(rows[0]["n"]) if rows else 0


def mark_read(*, user_id: str, notification_id: str) -> Notification:
    """Mark one of the citizen's notifications read (again is harmless)."""
    now = utcnow()
    Notification.objects(id=notification_id, recipient=user_id, read_at=None).update(
        set__read_at=now)
    found = Notification.objects(id=notification_id, recipient=user_id).first()
    if found is None:
        raise NotFound("No such notification.", "没有这条通知。", error="notification_not_found")
    return found


def mark_all_read(*, user_id: str) -> int:
    return Notification.objects(recipient=user_id, read_at=None).update(set__read_at=utcnow())


# ── Live events ───────────────────────────────────────────────────────────────────────────────


def latest_seq(user_id: str) -> int:
    last = Notification._get_collection().find_one(
        {"recipient": user_id}, {"seq": 1}, sort=[("seq", pymongo.DESCENDING)])
    return last["seq"] if last else 0


# ── Devices ───────────────────────────────────────────────────────────────────────────────────


def register_device(*, user_id: str, token: str, platform: str,
                    locale: str | None = None) -> tuple[Device, bool]:
    """Register (or refresh) a push token; a token is one install, so it moves to whoever
    registers it last. Returns the device and whether it is new to this citizen."""
    now = utcnow()
    collection = Device._get_collection()
    fields = {"user": user_id, "platform": platform, "locale": locale, "last_seen_at": now,
              "updated_at": now}
    seen = {"$set": fields}
    # Two update_ones, not a findAndModify returning the old owner (the embedded server scans
    # the collection for those, see models/indexed_writes.py): this citizen's token is
    # refreshed by the first; a token new to them is moved or inserted by the second.
    new = not collection.update_one({"token": token, "user": user_id}, seen).matched_count
    inserted = None
    if new:
        try:
            inserted = collection.update_one(
                {"token": token}, {**seen, "$setOnInsert": {"created_at": now}},
                upsert=True).upserted_id
        except DuplicateKeyError:  # a concurrent first registration inserted it: take it
            collection.update_one({"token": token}, seen)
    # A device just inserted is what was written; one refreshed or moved is read for its id.
    device = (Device._from_son(indexed_writes.as_stored(collection, {
        "_id": inserted, "token": token, **fields, "created_at": now}))
        if inserted is not None else Device.objects(token=token).first())
    if new:  # a refresh adds no device: only a new one can pass the limit
        _keep_newest_devices(user_id)
    return device, new


def _keep_newest_devices(user_id: str) -> None:
    limit = int(current_app.config["MAX_DEVICES_PER_USER"])
    stale = [d.id for d in Device.objects(user=user_id).order_by("-last_seen_at")
             .skip(limit).only("id")]
    if stale:
        Device.objects(id__in=stale).delete()


def list_devices(*, user_id: str) -> list[Device]:
    return list(Device.objects(user=user_id).order_by("-last_seen_at"))


def remove_device(*, user_id: str, device_id: str) -> None:
    """Forget one of the citizen's devices. Found first, then deleted whatever the delete
    counts: a driver's retry of a stored delete (the embedded server does not deduplicate it)
    deletes nothing and is still this request's success."""
    found = Device.objects(id=device_id, user=user_id).only("id").first() \
        if ObjectId.is_valid(device_id) else None
    if found is None:
        raise NotFound("No such device.", "没有这台设备。", error="device_not_found")
    Device.objects(id=device_id, user=user_id).delete()


# ── Preferences and mini-program subscriptions ─────────────────────────────────────────────────


def preferences(*, user_id: str) -> NotificationPreferences:
    """The citizen's preferences (everything on, no quiet hours, until they say otherwise)."""
    return NotificationPreferences.objects(user=user_id).first() or \
        NotificationPreferences(user=user_id)


def update_preferences(*, user_id: str, push: bool = True, miniprogram: bool = True,
                       sms: bool = True, quiet_hours: dict | None = None,
                       timezone: str | None = None) -> NotificationPreferences:
    """Replace the citizen's channel switches, quiet hours and time zone."""
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed("Unknown time zone.", "未知的时区。",
                                   errors={"timezone": ["Unknown time zone."]}) from None
    if quiet_hours and quiet_hours["start"] == quiet_hours["end"]:
        raise ValidationFailed("Quiet hours must start and end at different times.",
                               "免打扰的开始和结束时间不能相同。",
                               errors={"quiet_hours": ["start and end are the same"]})
    now = utcnow()
    NotificationPreferences._get_collection().update_one(
        {"user": user_id},
        {"$set": {"push": push, "miniprogram": miniprogram, "sms": sms,
                  "quiet_hours": QuietHours(**quiet_hours).to_mongo().to_dict()
                  if quiet_hours else None,
                  "timezone": timezone or None, "updated_at": now},
         "$setOnInsert": {"created_at": now, "subscriptions": []}},
        upsert=True)
    return preferences(user_id=user_id)


def record_subscriptions(*, user_id: str, platform: str, accepted: list[str],
                         rejected: list[str]) -> NotificationPreferences:
    """What the citizen answered in the mini-program's subscription prompt: each acceptance of a
    one-time template allows one message; a refusal leaves none."""
    known = {t["id"] for kind in _kinds() if (t := miniprogram.template_for(platform, kind))}
    unknown = sorted((set(accepted) | set(rejected)) - known)
    if unknown:
        raise ValidationFailed("Unknown templates: {t}.", "未知的消息模板：{t}。",
                               errors={"templates": [f"unknown: {', '.join(unknown)}"]},
                               t=", ".join(unknown))
    cap = int(current_app.config["MINIPROGRAM_SUBSCRIPTION_CAP"])
    collection = NotificationPreferences._get_collection()
    now = utcnow()
    collection.update_one({"user": user_id},
                          {"$setOnInsert": {"created_at": now, "updated_at": now, "push": True,
                                            "miniprogram": True, "sms": True,
                                            "subscriptions": []}}, upsert=True)
    changes = Counter(accepted)
    for template in set(rejected) - set(accepted):
        changes[template] = 0
    for template, count in changes.items():
        match = {"platform": platform, "template": template}
        exists = {"user": user_id, "subscriptions": {"$elemMatch": match}}
        filters = [{"s.platform": platform, "s.template": template}]
        if count:
            written = collection.update_one(
                exists, {"$inc": {"subscriptions.$[s].remaining": count},
                         "$set": {"subscriptions.$[s].updated_at": now}}, array_filters=filters)
        else:
            written = collection.update_one(
                exists, {"$set": {"subscriptions.$[s].remaining": 0,
                                  "subscriptions.$[s].updated_at": now}}, array_filters=filters)
        if not written.matched_count:
            entry = MiniProgramSubscription(platform=platform, template=template,
                                            remaining=min(count, cap), updated_at=now)
            pushed = collection.update_one(
                {"user": user_id, "subscriptions": {"$not": {"$elemMatch": match}}},
                {"$push": {"subscriptions": entry.to_mongo().to_dict()}})
            if not pushed.matched_count:  # another request added it meanwhile
                collection.update_one(exists, {"$inc": {"subscriptions.$[s].remaining": count}},
                                      array_filters=filters)
        collection.update_one(exists, {"$min": {"subscriptions.$[s].remaining": cap}},
                              array_filters=filters)
    return preferences(user_id=user_id)


def _kinds() -> list[str]:
    return [kind.value for kind in NotificationType]


# ── Admins: what could not be delivered ─────────────────────────────────────────────────────


def failed_deliveries(*, page: int = 1, page_size: int = 20,
                      channel: str | None = None) -> tuple[list[Delivery], int]:
    query = Delivery.objects.failed()
    if channel:
        query = query.filter(channel=channel)
    return list(query.skip((page - 1) * page_size).limit(page_size)), query.count()


def retry_delivery(*, delivery_id: str) -> Delivery:
    """Give a failed delivery a fresh retry budget."""
    now = utcnow()
    found = indexed_writes.update_and_read(
        Delivery._get_collection(), {"_id": delivery_id, "status": DeliveryStatus.FAILED.value},
        {"$set": {"status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
                  "updated_at": now}})
    if found is None:
        raise NotFound("No such failed delivery.", "没有这条发送失败的记录。",
                       error="delivery_not_found")
    return Delivery._from_son(found)


# ── Partners: replaying webhooks ─────────────────────────────────────────────────────────────


def replay_webhooks(*, partner_id: str, since: datetime) -> dict:
    """Queue again every event since a moment that the partner subscribes to, oldest first, up
    to WEBHOOK_REPLAY_LIMIT at a time (`until` tells where to continue)."""

    config = current_app.config
    now = utcnow()
    if since.tzinfo is None:
        raise ValidationFailed("Give `since` with a time zone.", "`since` 需要包含时区。",
                               errors={"since": ["Must include a time zone."]})
    oldest = now - timedelta(days=int(config["WEBHOOK_REPLAY_MAX_DAYS"]))
    if since < oldest or since > now:
        raise ValidationFailed(
            "`since` must be within the last {d} days.", "`since` 必须在最近 {d} 天之内。",
            errors={"since": [f"Must be within the last {config['WEBHOOK_REPLAY_MAX_DAYS']} "
                              "days."]}, d=config["WEBHOOK_REPLAY_MAX_DAYS"])
    partner = Partner.objects(id=partner_id).first() if ObjectId.is_valid(partner_id) else None
    if partner is None or not partner.webhook_url:
        raise NotFound("This partner has no webhook.", "该合作方没有配置回调地址。",
                       error="webhook_not_configured")
    events = list(partner.events or [])
    query: dict = {"created_at": {"$gte": since}}
    if "*" not in events:
        query["type"] = {"$in": events}
    limit = int(config["WEBHOOK_REPLAY_LIMIT"])
    rows = list(Notification._get_collection().find(
        query, {"_id": 1, "recipient": 1, "type": 1, "created_at": 1})
        .sort([("created_at", 1), ("_id", 1)]).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    target = str(partner.id)
    if rows:
        Delivery._get_collection().bulk_write([UpdateOne(
            {"_id": make_delivery_id(row["_id"], Channel.WEBHOOK.value, target)},
            {"$set": {"status": DeliveryStatus.PENDING.value, "attempts": 0,
                      "next_attempt_at": now, "updated_at": now, "last_error": None},
             "$setOnInsert": {"notification": row["_id"], "recipient": row["recipient"],
                              "type": row["type"], "channel": Channel.WEBHOOK.value,
                              "target": target, "sends": 0, "lease_owner": None,
                              "lease_until": NO_LEASE, "state": {}, "created_at": now}},
            upsert=True) for row in rows], ordered=False)
    return {"queued": len(rows), "more": more,
            "until": rows[-1]["created_at"] if rows else None}
