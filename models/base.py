"""The abstract base every document shares: timestamps that are always UTC-aware."""
from datetime import UTC, datetime

import mongoengine as me
import pymongo.errors

# mongoengine's save() and modify() wrap the driver's duplicate-key error in their own.
DUPLICATE = (pymongo.errors.DuplicateKeyError, me.NotUniqueError)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampedDocument(me.Document):
    meta = {"abstract": True}

    created_at = me.DateTimeField(default=utcnow)
    # modify()/update() skip save(): callers set updated_at themselves there.
    updated_at = me.DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)
