"""Partner systems (mini-programs, department systems): client credentials, scopes, webhooks."""
from enum import StrEnum

import mongoengine as me

from common import crypto
from models.base import TimestampedDocument


class Scope(StrEnum):
    """What a partner's client-credentials token may be used for."""

    CATALOGUE_READ = "catalogue:read"
    APPLICATIONS_READ = "applications:read"
    APPLICATIONS_WRITE = "applications:write"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    WEBHOOKS = "webhooks"
    LIFE_EVENTS_WRITE = "life_events:write"  # a hospital or registry reports births, marriages


class Partner(TimestampedDocument):
    name = me.StringField(required=True, max_length=100)
    client_id = me.StringField(required=True, unique=True)
    secret_hash = me.StringField(required=True)  # argon2id; the secret is shown once
    scopes = me.ListField(me.StringField(choices=[s.value for s in Scope]))
    webhook_url = me.StringField()
    webhook_secret_encrypted = me.StringField()  # signs webhook bodies; common.crypto decrypts
    events = me.ListField(me.StringField())  # notification intent types sent to the webhook
    active = me.BooleanField(default=True)
    created_by = me.StringField()
    meta = {"collection": "partners", "ordering": ["client_id"], "indexes": ["active"]}

    def webhook_secret(self) -> str | None:
        """The secret that signs this partner's webhook bodies (kept encrypted at rest)."""
        return (crypto.decrypt(self.webhook_secret_encrypted)
                if self.webhook_secret_encrypted else None)
