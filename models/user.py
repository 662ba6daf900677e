"""Accounts: citizens, department officers, station clerks and admins."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    CLERK = "clerk"
    ADMIN = "admin"


STAFF_ROLES = (Role.OFFICER, Role.CLERK, Role.ADMIN)


class User(TimestampedDocument):
    role = me.StringField(required=True, choices=[r.value for r in Role])
    name = me.StringField(max_length=100)
    locale = me.StringField(default="zh-CN", choices=["zh-CN", "en"])
    active = me.BooleanField(default=True)

    # Citizens. Personal data only ever stored encrypted, found by its keyed hash (blind index).
    phone_encrypted = me.StringField()
    phone_index = me.StringField()
    id_number_encrypted = me.StringField()
    id_number_index = me.StringField()
    real_name_verified = me.BooleanField(default=False)

    # Staff.
    username = me.StringField()
    password_hash = me.StringField()
    department = me.StringField()  # department code, for officers
    region = me.StringField()  # administrative region code, for officers
    station = me.StringField()  # service station code, for clerks
    failed_logins = me.IntField(default=0)
    locked_until = me.DateTimeField()

    meta = {
        "collection": "users",
        "indexes": [
            {"fields": ["phone_index"], "unique": True, "sparse": True},
            {"fields": ["id_number_index"], "unique": True, "sparse": True},
            {"fields": ["username"], "unique": True, "sparse": True},
            "role",
        ],
    }

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES
