"""Access taken back before the tokens expire: a whole subject, or one session's tokens."""
import mongoengine as me


class Revocation(me.Document):
    """`subject`: every access token of `key` issued before `not_before_ms` is refused;
    `session`: every access token of the session (refresh-token family) `key` is refused.
    Access tokens live minutes, so a record is needed only that long (TTL index)."""

    kind = me.StringField(required=True, choices=("subject", "session"))
    key = me.StringField(required=True)
    not_before_ms = me.IntField(default=0)
    expires_at = me.DateTimeField(required=True)
    meta = {
        "collection": "revocations",
        "indexes": [
            {"fields": ["kind", "key"], "unique": True},
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }
