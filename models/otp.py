"""SMS one-time codes, in the database so every process shares them."""
import mongoengine as me

# A code is dead once expired (every use checks `expires_at`); its document stays this long after,
# for what it remembers of the phone: whether a code was spent before (a sign-in's hint that the
# account exists, services/identity/otp.py). Citizens stay signed in for REFRESH_TOKEN_TTL (30
# days) and sign in again after it: the hint must outlive that.
KEPT_AFTER_EXPIRY = 400 * 24 * 3600


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
    # A code of this phone and purpose was spent: for signing in, the phone has an account.
    spent_before = me.BooleanField()
    meta = {
        "collection": "otp_codes",
        "indexes": [
            {"fields": ["phone_index", "purpose"], "unique": True},
            {"fields": ["expires_at"], "expireAfterSeconds": KEPT_AFTER_EXPIRY},
        ],
    }
