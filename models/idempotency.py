"""Idempotency keys: the first answer to a keyed request, replayed to every retry of it."""
import mongoengine as me

from models.base import utcnow


class IdempotencyRecord(me.Document):
    """One caller's key for one kind of request; inserted first, so one request wins the key."""

    owner = me.StringField(required=True)  # the caller's user id: keys are scoped to the caller
    scope = me.StringField(required=True)  # the kind of request, e.g. "applications"
    key = me.StringField(required=True)
    fingerprint = me.StringField(required=True)  # hash of the request body
    state = me.StringField(required=True, choices=["in_progress", "done"])
    locked_until = me.DateTimeField()  # an in-progress record whose holder died may be taken over
    resource = me.StringField()  # id of what the request created
    response_status = me.IntField()
    response_body = me.DictField()
    created_at = me.DateTimeField(default=utcnow)
    expires_at = me.DateTimeField(required=True)
    meta = {
        "collection": "idempotency_keys",
        "indexes": [
            {"fields": ["owner", "scope", "key"], "unique": True},
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }
