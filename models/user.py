"""Accounts: citizens, officers, station clerks, admins, and their mini-program bindings."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument
from models.sealed import SealedStringField


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    CLERK = "clerk"
    ADMIN = "admin"
    AGENT = "agent"  # the service desk: a person behind the assistant, for one region
    # Not a user account: a partner system calling with a client-credentials token.
    PARTNER = "partner"


# Accounts a department's adapter (its own system, the "green channel") acts as.
ADAPTER_USERNAME_PREFIX = "adapter."

STAFF_ROLES = (Role.OFFICER, Role.CLERK, Role.ADMIN, Role.AGENT)
USER_ROLES = (Role.CITIZEN, *STAFF_ROLES)


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class User(TimestampedDocument):
    role = me.StringField(required=True, choices=[r.value for r in USER_ROLES])
    name = SealedStringField(max_length=100)  # a person's name: encrypted at rest
    locale = me.StringField(default="zh-CN", choices=["zh-CN", "en"])
    active = me.BooleanField(default=True)

    # Citizens. Personal data only ever stored encrypted, found by its keyed hash (blind index).
    phone_encrypted = me.StringField()
    phone_index = me.StringField()
    id_number_encrypted = me.StringField()
    id_number_index = me.StringField()
    real_name_verified = me.BooleanField(default=False)
    real_name_verified_at = me.DateTimeField()
    # Derived from the verified ID number: decides who is a minor, prefills forms.
    birth_date = me.DateField()
    gender = me.StringField(choices=[g.value for g in Gender])
    last_login_at = me.DateTimeField()
    # False: the citizen asked for no proactive offers (PATCH /me {"proactive_offers": false}).
    proactive_offers = me.BooleanField(default=True)

    # Staff.
    username = me.StringField()
    password_hash = me.StringField()
    department = me.StringField()  # department code, for officers
    # Division code (GB/T 2260): where a citizen lives (their applications' default); the
    # region an officer or agent works in, a clerk's station is in, an admin manages (none: all).
    region = me.StringField()
    station = me.StringField()  # service station code, for clerks
    failed_logins = me.IntField(default=0)
    locked_until = me.DateTimeField()
    created_by = me.StringField()  # admin user id, or "cli" / "seed"

    meta = {
        "collection": "users",
        "indexes": [
            {"fields": ["phone_index"], "unique": True, "sparse": True},
            {"fields": ["id_number_index"], "unique": True, "sparse": True},
            {"fields": ["username"], "unique": True, "sparse": True},
            "role",
            {"fields": ["real_name_verified_at"], "sparse": True},  # offers waiting for them
            ("department", "region"),  # a department's officers in one region
        ],
    }

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class PlatformBinding(TimestampedDocument):
    """A mini-program platform's user id linked to a citizen (one citizen, one id per platform).

    The platform id is found by its keyed hash and kept encrypted (messages need it back); the
    platform's session key is kept encrypted and never leaves the server.
    """

    user = me.StringField(required=True)
    platform = me.StringField(required=True)  # wechat | alipay
    subject_index = me.StringField(required=True)
    subject_encrypted = me.StringField(required=True)
    session_key_encrypted = me.StringField()
    last_sign_in_at = me.DateTimeField()
    meta = {
        "collection": "platform_bindings",
        "indexes": [
            {"fields": ["platform", "subject_index"], "unique": True},
            ("user", "platform"),
        ],
    }


class BindingTicket(me.Document):
    """Short-lived proof that the caller signed in on a platform as a user not bound yet."""

    ticket_hash = me.StringField(required=True, unique=True)
    platform = me.StringField(required=True)
    subject_index = me.StringField(required=True)
    subject_encrypted = me.StringField(required=True)
    session_key_encrypted = me.StringField()
    expires_at = me.DateTimeField(required=True)
    meta = {
        "collection": "binding_tickets",
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }
