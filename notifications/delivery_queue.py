"""Which deliveries a stored notification gets, queued once: push always, a mini-program message
where the citizen has a subscription left, SMS standing by for what must not be missed, a webhook
per partner that asked for the event. Ids derived from the notification make a second relay of
the same intent (a retry, another worker) queue nothing twice."""
from collections.abc import Container, Iterable, Mapping
from datetime import datetime

import pymongo
from pymongo.errors import BulkWriteError

from models.notification import (
    MUST_NOT_MISS,
    NO_LEASE,
    Channel,
    Delivery,
    DeliveryStatus,
    delivery_id,
)
from models.partner import Partner
from notifications import miniprogram

DUPLICATE_KEY = 11000
PARTNERS_WITH_WEBHOOKS = {"active": True, "webhook_url": {"$nin": [None, ""]}}


def queue_deliveries(documents: list[dict], preferences: Mapping[str, dict | None],
                      now: datetime, *, lease: tuple[str, datetime] | None = None,
                      fresh: set[str] = frozenset(),
                      leased_channels: Container[str] | None = None,
                      partners: list[tuple[str, list]] | None = None,
                      due: set[str] | None = None) -> list[dict]:
    """Push always (the worker finds the devices); a mini-program message per platform where the
    citizen has a subscription left; SMS standing by for what must not be missed; one webhook
    delivery per partner that asked for the event.

    With a lease, the due deliveries of notifications stored just now (`fresh`) are queued
    already claimed by its owner, one attempt spent, as a claim would leave them; returns those
    that were queued so (not those another relay queued first). `due` gains the channels of
    the deliveries queued due."""
    if not documents:
        return []
    partners = partner_events() if partners is None else partners
    rows = []
    for document in documents:
        kind, recipient = document["type"], document["recipient"]
        planned = [(Channel.PUSH, None, DeliveryStatus.PENDING)]
        planned += [(Channel.MINIPROGRAM, platform, DeliveryStatus.PENDING)
                    for platform in _subscribed_platforms(preferences.get(recipient), kind)]
        if kind in MUST_NOT_MISS:
            planned.append((Channel.SMS, None, DeliveryStatus.STANDBY))
        planned += [(Channel.WEBHOOK, partner, DeliveryStatus.PENDING)
                    for partner, events in partners if kind in events or "*" in events]
        claimed = lease if document["_id"] in fresh else None
        rows += _delivery_rows(document["_id"], recipient, kind, planned, now, lease=claimed,
                               leased_channels=leased_channels)
    refused = _insert_deliveries(rows)
    if due is not None:  # the channels of what was queued due, for whoever claims it
        due.update(row["channel"] for position, row in enumerate(rows)
                   if position not in refused and row["lease_owner"] is None
                   and row["status"] == DeliveryStatus.PENDING.value)
    return [row for position, row in enumerate(rows)
            if row["lease_owner"] is not None and position not in refused]


def _delivery_rows(notification_id: str, recipient: str, kind: str, planned: Iterable[tuple],
                   now: datetime, *, lease: tuple[str, datetime] | None = None,
                   leased_channels: Container[str] | None = None) -> list[dict]:
    rows = []
    for channel, target, status in planned:
        claimed = lease is not None and status == DeliveryStatus.PENDING and (
            leased_channels is None or channel.value in leased_channels)
        rows.append({
            "_id": delivery_id(notification_id, channel.value, target),
            "notification": notification_id, "recipient": recipient, "type": kind,
            "channel": channel.value, "target": target, "status": status.value,
            # A claimed delivery is not due again before its lease ends (see Worker.claim).
            "attempts": 1 if claimed else 0, "sends": 0,
            "next_attempt_at": lease[1] if claimed else now,
            "lease_owner": lease[0] if claimed else None,
            "lease_until": lease[1] if claimed else NO_LEASE, "state": {}, "created_at": now,
            "updated_at": now})
    return rows


def _insert_deliveries(rows: list[dict]) -> set[int]:
    """Insert what is not queued yet; returns the positions of rows that were (by an earlier
    relay of the same intent, or another relay at the same time: that is the point)."""
    if not rows:
        return set()
    try:
        Delivery._get_collection().insert_many(rows, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return {error["index"] for error in errors}
    return set()


def _subscribed_platforms(preferences: Mapping | None, kind: str) -> list[str]:
    """The platforms where the citizen has a subscription left for this kind of event."""
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


def partner_events() -> list[tuple[str, list]]:
    """(id, events asked for) of each active partner with a webhook."""
    return [(str(p["_id"]), list(p.get("events") or []))
            for p in Partner._get_collection().find(PARTNERS_WITH_WEBHOOKS, {"_id": 1, "events": 1})
            .sort("_id", pymongo.ASCENDING)]
