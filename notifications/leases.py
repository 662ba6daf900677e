"""Leases on deliveries: one worker claims what is due, takes over expired leases, and records
an outcome only while it still holds the lease.

A delivery is claimed by one conditional update, so two workers never hold it at once; a worker
that dies mid-send leaves a lease that expires, and the delivery is sent again (at least once:
consumers de-duplicate by notification id). Every claim spends one attempt of the retry budget,
crashed ones included, so a message that kills its worker ends `failed` instead of looping;
waiting for quiet hours or for FCM's Retry-After spends nothing.
"""
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pymongo import UpdateOne

from models.indexed_writes import guarded
from models.notification import NO_LEASE, Delivery, DeliveryStatus
from notifications.retry import backoff

log = logging.getLogger(__name__)

RETRY, HOLD = "retry", "hold"  # outcomes that leave the delivery pending


@dataclass
class Outcome:
    status: str  # a DeliveryStatus value, RETRY or HOLD
    error: str | None = None
    retry_after: float | None = None  # RETRY: at least this long (Retry-After)
    until: datetime | None = None  # HOLD: try again then, without spending an attempt
    quiet: bool = False  # HOLD because of quiet hours
    state: dict = field(default_factory=dict)
    sends: int = 0


def held(update: dict, claim: str) -> list[dict]:
    """The outcome's update, written only while `claim` still holds the lease; the lease is
    checked inside the update so the write is matched by `_id` alone (indexed_writes.guarded)."""
    return guarded(update, {"$eq": ["$lease_owner", claim]})


class Leases:
    """One worker's claims on deliveries and the records of their outcomes."""

    def __init__(self, config: Mapping, identity: str):
        self.identity = identity
        self.lease = timedelta(seconds=float(config["NOTIFICATION_LEASE_SECONDS"]))
        self.batch = int(config["NOTIFICATION_BATCH_SIZE"])
        self.max_attempts = int(config["NOTIFICATION_MAX_ATTEMPTS"])
        self.backoff_base = float(config["NOTIFICATION_BACKOFF_BASE"])
        self.backoff_max = float(config["NOTIFICATION_BACKOFF_MAX"])
        self.retention = timedelta(days=float(config["NOTIFICATION_DELIVERY_RETENTION_DAYS"]))

    def new_claim(self) -> str:
        return f"{self.identity}:{uuid.uuid4().hex[:12]}"

    def claim(self, now: datetime, *, channels: Iterable[str] | None = None,
              limit: int | None = None, claim: str | None = None) -> tuple[str, list[Delivery]]:
        """Take up to a batch (or `limit`) of due deliveries whose lease is free, of `channels`
        if given, under `claim` or a new one; each claim is an attempt.

        A claim also moves the delivery's next attempt to the end of its lease, so what is due is
        found on the (status, next_attempt_at) index alone; the lease itself is what the claiming
        update checks."""
        collection = Delivery._get_collection()
        due = {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}}
        if channels is not None:
            due["channel"] = {"$in": [str(channel) for channel in channels]}
        for _ in range(3):  # others may take the same candidates first: look again
            ids = [row["_id"] for row in collection.find(due, {"_id": 1})
                   .sort("next_attempt_at", 1).limit(limit or self.batch)]
            if not ids:
                break
            claim = claim or self.new_claim()
            until = now + self.lease
            taken = collection.update_many(
                {"_id": {"$in": ids}, **due, "lease_until": {"$lte": now}},
                {"$set": {"lease_owner": claim, "lease_until": until, "next_attempt_at": until},
                 "$inc": {"attempts": 1}})
            if taken.modified_count:
                return claim, [Delivery._from_son(row) for row in collection.find(
                    {"_id": {"$in": ids}, "lease_owner": claim})]
        return "", []

    def record(self, delivery: Delivery, claim: str, outcome: Outcome,
               now: datetime) -> str | None:
        """Write the outcome if we still hold the lease; returns the delivery's new status."""
        update, status = self.outcome_update(delivery, outcome, now)
        written = Delivery._get_collection().update_one(
            {"_id": delivery.id}, held(update, claim))
        if not written.modified_count:
            log.warning("lease on delivery %s expired before its outcome was recorded",
                        delivery.id)
            return None
        return status

    def record_many(self, outcomes: list[tuple[str, Delivery, Outcome, datetime]]) -> None:
        """Write several outcomes ((claim, delivery, outcome, when)) in one command, each only
        while its claim still holds the lease (for deliveries whose new status nothing else
        depends on)."""
        if not outcomes:
            return
        writes = [UpdateOne({"_id": delivery.id},
                            held(self.outcome_update(delivery, outcome, now)[0], claim))
                  for claim, delivery, outcome, now in outcomes]
        written = Delivery._get_collection().bulk_write(writes, ordered=False)
        if written.modified_count < len(writes):
            log.warning("leases on %d of %d deliveries expired before their outcomes were "
                        "recorded", len(writes) - written.modified_count, len(writes))

    def outcome_update(self, delivery: Delivery, outcome: Outcome,
                       now: datetime) -> tuple[dict, str]:
        """The update that records an outcome (and gives the lease back), and the new status."""
        changes: dict = {"lease_owner": None, "lease_until": NO_LEASE, "updated_at": now}
        increments: dict = {}
        if outcome.sends:
            increments["sends"] = outcome.sends
        for key, value in outcome.state.items():
            changes[f"state.{key}"] = value
        status = outcome.status
        if status == HOLD:
            changes.update(status=DeliveryStatus.PENDING.value, next_attempt_at=outcome.until)
            if outcome.quiet:
                changes["held_until"] = outcome.until
            increments["attempts"] = -1
        elif status == RETRY and delivery.attempts >= self.max_attempts:
            status = DeliveryStatus.FAILED.value
            changes.update(status=status, last_error=f"{outcome.error}; retry budget spent")
        elif status == RETRY:
            wait = max(backoff(delivery.attempts, base=self.backoff_base, cap=self.backoff_max),
                       outcome.retry_after or 0.0)
            changes.update(status=DeliveryStatus.PENDING.value, last_error=outcome.error,
                           next_attempt_at=now + timedelta(seconds=wait))
        else:
            changes.update(status=status, last_error=outcome.error)
            if status == DeliveryStatus.DELIVERED:
                changes["delivered_at"] = now
            if status != DeliveryStatus.FAILED:
                changes["expires_at"] = now + self.retention
        update = {"$set": changes}
        if increments:
            update["$inc"] = increments
        return update, DeliveryStatus.PENDING.value if status in (RETRY, HOLD) else status

    def over_budget(self, delivery: Delivery, claim: str, now: datetime) -> bool:
        """Claimed more often than the budget allows (earlier workers died holding it): recorded
        as failed."""
        if delivery.attempts <= self.max_attempts:
            return False
        self.record(delivery, claim, Outcome(DeliveryStatus.FAILED.value,
                                             error="retry budget spent"), now)
        return True
