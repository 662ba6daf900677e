"""The inbox (one notification per workflow intent) and the delivery state of each outside channel.

A notification's id is the intent's id, so relaying an intent twice stores it once, and every
channel carries that id for consumers to de-duplicate. Each channel's delivery is its own
document with a lease: a worker claims it with a conditional update, records the outcome only
while it still holds the lease, and a lease whose worker died simply expires.
"""
from datetime import UTC, datetime
from enum import StrEnum

import mongoengine as me

from models.base import utcnow

# A lease that was never taken, or was given back: always in the past.
NO_LEASE = datetime(2000, 1, 1, tzinfo=UTC)


class NotificationType(StrEnum):
    APPLICATION_RECEIVED = "application_received"
    TASK_ROUTED = "task_routed"
    TASK_COMPLETED = "task_completed"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    TASK_OVERDUE = "task_overdue"
    APPLICATION_COMPLETED = "application_completed"
    APPLICATION_REJECTED = "application_rejected"
    APPLICATION_WITHDRAWN = "application_withdrawn"
    STAFF_MESSAGE = "staff_message"  # a member of the service desk wrote in a conversation
    CONVERSATION_WAITING = "conversation_waiting"  # to agents: a citizen waits too long
    # The service loop: the citizen asked to rate, a department's answer to a low rating, an
    # application offered before the citizen asked (a life event, a child's enrolment season).
    RATING_REQUESTED = "rating_requested"
    RECTIFICATION_REPLIED = "rectification_replied"
    RECTIFICATION_RESOLVED = "rectification_resolved"
    OFFER_MADE = "offer_made"


# Events a citizen must not miss: they go by SMS when no push channel reaches the citizen.
MUST_NOT_MISS = (NotificationType.SUPPLEMENT_REQUESTED, NotificationType.APPLICATION_REJECTED)


class Channel(StrEnum):
    PUSH = "push"  # FCM, to every registered device of the citizen
    MINIPROGRAM = "miniprogram"  # WeChat / Alipay subscription messages
    SMS = "sms"  # fallback for must-not-miss events
    WEBHOOK = "webhook"  # a partner's endpoint, one delivery per partner


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    STANDBY = "standby"  # SMS fallback, waiting to learn whether push reached the citizen
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # nothing to do: channel off, no device, fallback not needed
    FAILED = "failed"  # retry budget spent or refused for good: admins see it


class Notification(me.Document):
    """One entry of a citizen's inbox, in both languages; the source of truth for what they were
    told."""

    id = me.StringField(primary_key=True)  # the intent id
    # Per recipient, 1, 2, 3, … in the order notifications became visible: the inbox order and
    # the server-sent events' ids (Last-Event-ID).
    seq = me.IntField(required=True)
    recipient = me.StringField(required=True)
    type = me.StringField(required=True, choices=[t.value for t in NotificationType])
    application = me.StringField()
    bundle = me.StringField()
    task = me.StringField()
    matter = me.StringField()
    department = me.StringField()
    data = me.DictField()  # non-personal details from the intent
    title = me.DictField()  # {"zh-CN", "en"}
    body = me.DictField()  # {"zh-CN", "en"}: what push also shows; never personal data
    detail = me.DictField()  # {"zh-CN", "en"}: inbox only (e.g. an officer's reason)
    at = me.DateTimeField()  # when the change happened
    created_at = me.DateTimeField(default=utcnow)
    read_at = me.DateTimeField()
    meta = {
        "collection": "notifications",
        "indexes": [
            {"fields": ["recipient", "-seq"], "unique": True},
            ("recipient", "read_at"),
            "created_at",
        ],
    }


class NotificationSequence(me.Document):
    """The highest inbox number given to a recipient so far, so the relay numbers a batch of
    notifications with one read instead of one look at each inbox.

    Only raised after the notifications carrying the numbers are stored, so it never runs ahead of
    the inbox: a stale value (a relay died in between) costs one retry on the unique
    (recipient, seq) index, never a gap or a number out of order.
    """

    id = me.StringField(primary_key=True)  # the recipient
    seq = me.IntField(required=True)
    meta = {"collection": "notification_sequences"}


class DeliveryQuerySet(me.QuerySet):
    def failed(self) -> "DeliveryQuerySet":
        return self.filter(status=DeliveryStatus.FAILED.value).order_by("-updated_at")


class Delivery(me.Document):
    """One channel's delivery of one notification (id "<notification>:<channel>[:<target>]")."""

    id = me.StringField(primary_key=True)
    notification = me.StringField(required=True)
    recipient = me.StringField(required=True)
    type = me.StringField(required=True)
    channel = me.StringField(required=True, choices=[c.value for c in Channel])
    target = me.StringField()  # the partner id (webhooks) or the platform (mini-programs)
    status = me.StringField(required=True, choices=[s.value for s in DeliveryStatus])
    attempts = me.IntField(default=0)  # claims that tried the channel, crashed ones included
    sends = me.IntField(default=0)  # requests that reached the outside service
    next_attempt_at = me.DateTimeField(required=True)
    lease_owner = me.StringField()  # "<host>:<pid>:<claim id>" while a worker holds it
    lease_until = me.DateTimeField(default=lambda: NO_LEASE)
    held_until = me.DateTimeField()  # quiet hours: when the citizen's morning begins
    last_error = me.StringField()
    # Channel details: device tokens already reached, one-time send reserved, gateway ids.
    state = me.DictField()
    delivered_at = me.DateTimeField()
    # Set when it ends delivered or skipped: the record then goes after a while. Failed ones
    # stay for admins; the inbox (Notification) stays regardless.
    expires_at = me.DateTimeField()
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)
    meta = {
        "collection": "notification_deliveries",
        "queryset_class": DeliveryQuerySet,
        # The server rewrites every key of every index at each update (a push is inserted, then
        # its outcome recorded), so each index keeps only the deliveries its query reads: what
        # is due (pending), what admins look at (failed), what expires (delivered, skipped).
        # A notification's deliveries are found by their ids (`delivery_id`), not by an index.
        "indexes": [
            {"fields": ["status", "next_attempt_at"], "name": "pending_due",
             "partialFilterExpression": {"status": DeliveryStatus.PENDING.value}},
            {"fields": ["expires_at"], "name": "expiry", "expireAfterSeconds": 0,
             "sparse": True},
            {"fields": ["status", "-updated_at"], "name": "failed_latest",
             "partialFilterExpression": {"status": DeliveryStatus.FAILED.value}},
        ],
        "retired_indexes": ["status_1_next_attempt_at_1", "expires_at_1", "notification_1",
                            "status_1_updated_at_-1", "channel_1_target_1_created_at_1"],
    }


class ChannelPause(me.Document):
    """A whole channel told to wait (FCM's quota answer with Retry-After), seen by every worker."""

    id = me.StringField(primary_key=True)  # the channel
    until = me.DateTimeField(required=True)
    reason = me.StringField()
    meta = {"collection": "notification_channel_pauses"}


def delivery_id(notification_id: str, channel: str, target: str | None = None) -> str:
    return f"{notification_id}:{channel}" + (f":{target}" if target else "")
