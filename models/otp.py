"""SMS one-time codes, in the database so every process shares them."""
import mongoengine as me


class OtpCode(me.Document):
    """The one live code for a phone and purpose; a new code replaces it, a right one uses it."""

    phone_index = me.StringField(required=True)
    purpose = me.StringField(required=True)
    code_hash = me.StringField(required=True)  # keyed hash: a database dump does not reveal it
    attempts = me.IntField(default=0)
    sent_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)
    # The sign-in that used it: a used code is dead, and that sign-in's retry knows its own use.
    used_by = me.StringField()
    meta = {
        "collection": "otp_codes",
        "indexes": [
            {"fields": ["phone_index", "purpose"], "unique": True},
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }
