"""Push devices: one FCM registration token per app install, owned by one citizen at a time."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument, utcnow


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


class Device(TimestampedDocument):
    # The token identifies the install: registering it again updates it, and when another
    # citizen signs in on the same phone it moves to them (the database keeps it unique).
    token = me.StringField(required=True, max_length=4096)
    user = me.StringField(required=True)
    platform = me.StringField(required=True, choices=[p.value for p in Platform])
    locale = me.StringField(choices=["zh-CN", "en"])
    last_seen_at = me.DateTimeField(default=utcnow)
    meta = {
        "collection": "devices",
        "indexes": [
            {"fields": ["token"], "unique": True},
            ("user", "-last_seen_at"),
        ],
    }
