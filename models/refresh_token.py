"""Refresh tokens: stored hashed, single use, rotated within a family that is revoked as a whole."""
import mongoengine as me


class RefreshToken(me.Document):
    token_hash = me.StringField(required=True, unique=True)
    # Every token descended from one sign-in shares a family; reuse of a spent one revokes it all.
    family = me.StringField(required=True)
    user = me.StringField(required=True)
    role = me.StringField(required=True)
    created_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)
    spent_at = me.DateTimeField()
    spent_by = me.StringField()  # the refresh that spent it: its retry knows its own spend
    revoked_at = me.DateTimeField()
    meta = {
        "collection": "refresh_tokens",
        "indexes": [
            "family",
            "user",
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }
