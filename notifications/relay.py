"""The relay: moves notification intents from applications' outboxes into the inbox and queues
their deliveries, idempotently, then takes them out of the outbox."""
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import pymongo
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from models.application import Application
from models.base import utcnow
from models.notification import (
    MUST_NOT_MISS,
    NO_LEASE,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    delivery_id,
)
from models.preferences import NotificationPreferences
from models.user import STAFF_ROLES, User
from notifications import miniprogram, templates

log = logging.getLogger(__name__)

SEQ_RETRIES = 20


def relay_pending(*, limit: int = 200) -> int:
    """Relay the outboxes of up to `limit` applications; returns how many intents were moved."""
    collection = Application._get_collection()
    moved = 0
    for app in collection.find({"outbox_pending": True}, {"outbox": 1}).limit(limit):
        outbox = app.get("outbox") or []
        intents = [i for i in outbox if isinstance(i, Mapping) and i.get("id")]
        try:
            for intent in intents:
                store(intent, application_id=str(app["_id"]))
        except PyMongoError:
            raise
        except Exception:  # one bad intent must not hold up every other application
            log.exception("application %s: outbox not relayed", app["_id"])
            continue
        moved += len(intents)
        if intents:
            ids = [i["id"] for i in intents]
            collection.update_one({"_id": app["_id"]}, {"$pull": {"outbox": {"id": {"$in": ids}}}})
        if len(intents) < len(outbox):
            # Nothing can be done with an intent without an id but keep it from blocking the rest.
            log.error("application %s: %d outbox entries without an id dropped", app["_id"],
                      len(outbox) - len(intents))
            collection.update_one({"_id": app["_id"]}, {"$pull": {"outbox": {"id": None}}})
        # Cleared only if nothing new arrived meanwhile: the workflow sets the flag again in the
        # same update that pushes an intent, and this condition sees that intent.
        collection.update_one({"_id": app["_id"], "outbox_pending": True, "outbox": {"$size": 0}},
                              {"$set": {"outbox_pending": False}})
    return moved


def store(intent: Mapping, *, application_id: str | None = None) -> Notification | None:
    """Store one intent as a notification (once, whatever the replays) and queue its deliveries."""
    try:
        kind = NotificationType(intent.get("type"))
    except ValueError:
        log.warning("intent %s has an unknown type %r; dropped", intent.get("id"),
                    intent.get("type"))
        return None
    recipient = str(intent.get("recipient") or "")
    if not recipient:
        log.warning("intent %s has no recipient; dropped", intent.get("id"))
        return None
    now = utcnow()
    staff = _is_staff(recipient)
    rendered = templates.render(intent, audience="staff" if staff else "citizen")
    document = {
        "_id": str(intent["id"]), "recipient": recipient, "type": kind.value,
        "application": _str(intent.get("application") or application_id),
        "bundle": _str(intent.get("bundle")), "task": _str(intent.get("task")),
        "matter": _str(intent.get("matter")), "department": _str(intent.get("department")),
        "data": _clean_data(intent.get("data")), "at": _moment(intent.get("at")) or now,
        "created_at": now, "read_at": None, **rendered,
    }
    _insert_in_sequence(document)
    if not staff:  # the workflow's alerts to departments live in the staff's inbox only
        _queue_deliveries(document, now)
    return Notification._from_son(Notification._get_collection().find_one({"_id": document["_id"]}))


def _is_staff(user_id: str) -> bool:
    if not ObjectId.is_valid(user_id):
        return False
    user = User._get_collection().find_one({"_id": ObjectId(user_id)}, {"role": 1})
    return bool(user) and user.get("role") in STAFF_ROLES


def _insert_in_sequence(document: dict) -> None:
    """Insert with the recipient's next sequence number, unless this intent is already stored.

    The unique (recipient, seq) index makes the numbers follow the order in which notifications
    become visible, whichever process relays them: a stream that has shown n has shown all < n.
    """
    collection = Notification._get_collection()
    for _ in range(SEQ_RETRIES):
        if collection.count_documents({"_id": document["_id"]}, limit=1):
            return
        last = collection.find_one({"recipient": document["recipient"]}, {"seq": 1},
                                   sort=[("seq", pymongo.DESCENDING)])
        document["seq"] = (last["seq"] if last else 0) + 1
        try:
            collection.insert_one(document)
            return
        except DuplicateKeyError:
            continue  # either this intent (stored by another relay) or the number: look again
    raise RuntimeError(f"could not number notification {document['_id']}")


def _queue_deliveries(document: dict, now: datetime) -> None:
    """Push always (the worker finds the devices); a mini-program message per platform where the
    citizen has a subscription left; SMS standing by for what must not be missed; one webhook
    delivery per partner that asked for the event."""
    kind, recipient = document["type"], document["recipient"]
    planned = [(Channel.PUSH, None, DeliveryStatus.PENDING)]
    planned += [(Channel.MINIPROGRAM, platform, DeliveryStatus.PENDING)
                for platform in _subscribed_platforms(recipient, kind)]
    if kind in MUST_NOT_MISS:
        planned.append((Channel.SMS, None, DeliveryStatus.STANDBY))
    planned += [(Channel.WEBHOOK, partner, DeliveryStatus.PENDING)
                for partner in partners_for(kind)]
    insert_deliveries(document["_id"], recipient, kind, planned, now)


def insert_deliveries(notification_id: str, recipient: str, kind: str,
                      planned: Iterable[tuple], now: datetime) -> None:
    rows = [{"_id": delivery_id(notification_id, channel.value, target),
             "notification": notification_id, "recipient": recipient, "type": kind,
             "channel": channel.value, "target": target, "status": status.value,
             "attempts": 0, "sends": 0, "next_attempt_at": now, "lease_owner": None,
             "lease_until": NO_LEASE, "state": {}, "created_at": now, "updated_at": now}
            for channel, target, status in planned]
    if not rows:
        return
    try:
        Delivery._get_collection().insert_many(rows, ordered=False)
    except BulkWriteError as exc:
        # Already queued by an earlier relay of the same intent: that is the point.
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise


def _subscribed_platforms(recipient: str, kind: str) -> list[str]:
    preferences = NotificationPreferences._get_collection().find_one(
        {"user": recipient}, {"miniprogram": 1, "subscriptions": 1})
    if not preferences or preferences.get("miniprogram") is False:
        return []
    platforms = []
    for subscription in preferences.get("subscriptions") or []:
        template = miniprogram.template_for(subscription.get("platform"), kind)
        if (template and template["id"] == subscription.get("template")
                and subscription.get("remaining", 0) > 0
                and subscription["platform"] not in platforms):
            platforms.append(subscription["platform"])
    return platforms


def partners_for(kind: str) -> list[str]:
    """Ids of the active partners with a webhook that asked for this kind of event."""
    try:
        from models.partner import Partner
    except ImportError:  # partners arrive with the identity area
        return []
    query = {"active": True, "webhook_url": {"$nin": [None, ""]},
             "events": {"$in": [kind, "*"]}}
    return [str(p["_id"]) for p in Partner._get_collection().find(query, {"_id": 1})]


def _clean_data(data) -> dict:
    """The intent's details as given (the workflow keeps personal data out of them), minus
    anything a database key cannot hold."""
    if not isinstance(data, Mapping):
        return {}
    return {str(k): v for k, v in data.items() if not str(k).startswith("$") and "." not in str(k)}


def _str(value) -> str | None:
    return None if value is None else str(value)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
