"""Idempotency keys: one caller's key runs one request once; its retries get what it made."""
import hashlib
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from mongoengine.errors import NotUniqueError
from pymongo.errors import DuplicateKeyError

from models import indexed_writes
from models.base import utcnow
from models.idempotency import IdempotencyRecord
from services.errors import InvalidState, ValidationFailed

log = logging.getLogger(__name__)

# A citizen's application is itself the record of its key (workflow.submit_application inserts
# it once); the records below serve requests that do more than that one insert (a clerk's).
KEY_FORMAT = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, as clients send UUIDs or the like


@dataclass
class Claim:
    """The outcome of claiming a key: `fresh` when this request must do the work."""

    record: IdempotencyRecord
    fresh: bool


def fingerprint(payload) -> str:
    """A stable hash of a request body: same body, same fingerprint, whatever the key order."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None, *, max_length: int = 255) -> str:
    """A client's Idempotency-Key: 1 to 255 visible ASCII characters."""
    if not key or len(key) > max_length or not KEY_FORMAT.match(key):
        raise ValidationFailed(
            "The Idempotency-Key header must be 1 to 255 visible characters.",
            "Idempotency-Key 请求头须为 1 至 255 个可见字符。",
            error="invalid_idempotency_key",
            errors={"Idempotency-Key": ["1-255 visible ASCII characters"]})
    return key


def reused() -> ValidationFailed:
    return ValidationFailed(
        "This Idempotency-Key was already used with a different request.",
        "该 Idempotency-Key 已用于另一个不同的请求。", error="idempotency_key_reused")


def claim(*, owner: str, scope: str, key: str, request_fingerprint: str) -> Claim:
    """Insert first: the request whose insert succeeds owns the key; the others replay or wait.

    A record whose holder died (its lock expired) is taken over by one conditional update.
    """
    config = current_app.config
    wait_until = time.monotonic() + config["IDEMPOTENCY_WAIT_SECONDS"]
    while True:
        if time.monotonic() > wait_until:
            raise InvalidState(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试。",
                error="idempotency_request_in_progress", headers={"Retry-After": "1"})
        now = utcnow()
        record = IdempotencyRecord(
            owner=owner, scope=scope, key=key, fingerprint=request_fingerprint,
            state="in_progress", created_at=now,
            locked_until=now + timedelta(seconds=config["IDEMPOTENCY_LOCK_SECONDS"]),
            expires_at=now + timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"]))
        try:
            record.save(force_insert=True)
            return Claim(record, fresh=True)
        except (DuplicateKeyError, NotUniqueError):
            pass
        existing = IdempotencyRecord.objects(owner=owner, scope=scope, key=key).first()
        if existing is None:
            continue  # released or expired meanwhile: try to insert again
        if existing.fingerprint != request_fingerprint:
            raise reused()
        if existing.state == "done":
            return Claim(existing, fresh=False)
        if existing.locked_until and existing.locked_until <= now:
            # update_one, not modify(): the embedded server plans findAndModify as a scan.
            locked_until = now + timedelta(seconds=config["IDEMPOTENCY_LOCK_SECONDS"])
            taken = IdempotencyRecord.objects(
                id=existing.id, state="in_progress", locked_until=existing.locked_until,
            ).update_one(set__locked_until=locked_until)
            if taken:
                log.info("idempotency key of %s taken over after its holder stopped", scope)
                indexed_writes.set_as_stored(existing, {"locked_until": locked_until})
                return Claim(existing, fresh=True)
            continue
        time.sleep(0.02 + random.random() * 0.03)  # noqa: S311 (jitter, not security)  # nosec B311


def finish(claimed: Claim, *, resource: str) -> None:
    """The work is done: later retries replay it."""
    IdempotencyRecord.objects(id=claimed.record.id).update_one(
        set__state="done", set__resource=resource, unset__locked_until=True)
    claimed.record.state, claimed.record.resource = "done", resource


def release(claimed: Claim) -> None:
    """The request failed before doing anything: the key is free again for a corrected retry."""
    IdempotencyRecord.objects(id=claimed.record.id, state="in_progress").delete()
