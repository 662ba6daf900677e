"""The delivery worker: relays outboxes, claims due deliveries with a lease, sends, records.

Run as many as you like (`flask notifications worker`): a delivery is claimed by one conditional
update, so two workers never hold it at once; the outcome is recorded only by the holder of the
lease; a worker that dies mid-send leaves a lease that expires, and the delivery is sent again
(at least once: consumers de-duplicate by notification id). Every claim spends one attempt of the
retry budget, crashed ones included, so a message that kills its worker ends `failed` instead of
looping; waiting for quiet hours or for FCM's Retry-After spends nothing.
"""
import logging
import os
import queue
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bson import ObjectId
from flask import current_app
from pymongo import UpdateOne
from pymongo.errors import OperationFailure, PyMongoError

from common.i18n import pick
from models.application import Application
from models.base import utcnow
from models.device import Device
from models.notification import (
    MUST_NOT_MISS,
    NO_LEASE,
    Channel,
    ChannelPause,
    Delivery,
    DeliveryStatus,
    Notification,
    delivery_id,
)
from models.preferences import NotificationPreferences
from models.user import User
from notifications import fcm, miniprogram, relay, webhooks
from notifications.retry import backoff

log = logging.getLogger(__name__)

RETRY, HOLD = "retry", "hold"  # outcomes that leave the delivery pending
# What a push needs of its notification.
PUSHED_FIELDS = ("id", "type", "application", "title", "body", "created_at")
MAX_ROUNDS_ONCE = 1000


@dataclass
class Outcome:
    status: str  # a DeliveryStatus value, RETRY or HOLD
    error: str | None = None
    retry_after: float | None = None  # RETRY: at least this long (Retry-After)
    until: datetime | None = None  # HOLD: try again then, without spending an attempt
    quiet: bool = False  # HOLD because of quiet hours
    state: dict = field(default_factory=dict)
    sends: int = 0


def quiet_until(preferences: NotificationPreferences | None, now: datetime,
                default_timezone: str) -> datetime | None:
    """The end of the citizen's quiet hours if `now` falls within them, else None."""
    hours = preferences.quiet_hours if preferences else None
    if not hours or hours.start == hours.end:
        return None
    zone = ZoneInfo(preferences.timezone or default_timezone)
    local = now.astimezone(zone)
    start, end, moment = time.fromisoformat(hours.start), time.fromisoformat(hours.end), \
        local.time().replace(tzinfo=None)
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    morning = datetime.combine(local.date(), end, tzinfo=zone)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


class Finisher:
    """Records a round's push outcomes and takes its intents out of the outboxes in a thread of
    its own, so the next round's relay and pushes need not wait for those writes; the relay
    leaves the intents being taken out alone. At most two rounds wait to be finished (then the
    loop waits). A worker killed before they are written loses nothing: the leases expire and
    the intents are still in their outboxes."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._lock = threading.Lock()
        self._relayed: set[str] = set()
        self._thread = threading.Thread(target=self._work, name="round-finisher", daemon=True)
        self._thread.start()

    def submit(self, work, relayed: set[str]) -> None:
        with self._lock:
            self._relayed |= relayed
        self._queue.put((work, relayed))

    def relayed(self) -> set[str]:
        """Ids of the intents relayed and not yet taken out of their outboxes."""
        with self._lock:
            return set(self._relayed)

    def close(self) -> None:
        """Finish what was submitted, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            work, relayed = item
            try:
                work()
            except Exception:  # the leases expire and the outboxes still hold the intents
                log.exception("recording a round failed; its work will be done again")
            finally:
                with self._lock:
                    self._relayed -= relayed


class OutboxWatcher:
    """Wakes an idle worker the moment an application's outbox gains an intent, through a change
    stream on applications (a thread of its own). Where the database offers none (a standalone
    MongoDB server answers that change streams need a replica set), it gives up and the worker
    polls; on a lost connection it starts a new stream (the worker's polling covers the gap)."""

    # The relay's own clean-up lowers the flag: that wakes nobody.
    PIPELINE = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]},
                            "updateDescription.updatedFields.outbox_pending": {"$ne": False}}},
                {"$project": {"_id": 1}}]
    AWAIT_MS = 1000

    def __init__(self, wake: threading.Event, stop: threading.Event):
        self.wake, self.stop = wake, stop
        self.watching = False

    def start(self) -> None:
        threading.Thread(target=self._watch, name="outbox-watcher", daemon=True).start()

    def _watch(self) -> None:
        collection = Application._get_collection()
        while not self.stop.is_set():
            try:
                with collection.watch(self.PIPELINE, max_await_time_ms=self.AWAIT_MS) as stream:
                    self.watching = True
                    while not self.stop.is_set():
                        if stream.try_next() is not None:
                            self.wake.set()
            except OperationFailure as exc:
                self.watching = False
                log.info("no change streams here (%s): the worker polls instead",
                         exc.code)
                return
            except PyMongoError as exc:
                self.watching = False
                log.warning("outbox change stream lost (%s); polling meanwhile",
                            type(exc).__name__)
                self.stop.wait(1.0)
        self.watching = False


class Worker:
    """One worker process's loop; `run_once()` is one round (tests drive it directly)."""

    def __init__(self, config: Mapping | None = None):
        config = config or current_app.config
        self.lease = timedelta(seconds=float(config["NOTIFICATION_LEASE_SECONDS"]))
        self.batch = int(config["NOTIFICATION_BATCH_SIZE"])
        self.poll = float(config["NOTIFICATION_POLL_SECONDS"])
        self.max_attempts = int(config["NOTIFICATION_MAX_ATTEMPTS"])
        self.backoff_base = float(config["NOTIFICATION_BACKOFF_BASE"])
        self.backoff_max = float(config["NOTIFICATION_BACKOFF_MAX"])
        self.sms_after = timedelta(seconds=float(config["NOTIFICATION_SMS_FALLBACK_AFTER"]))
        self.timezone = config["NOTIFICATION_TIMEZONE"]
        self.webhook_timeout = float(config["WEBHOOK_TIMEOUT"])
        self.retention = timedelta(days=float(config["NOTIFICATION_DELIVERY_RETENTION_DAYS"]))
        self.wake_on_changes = bool(config.get("NOTIFICATION_WAKE_ON_CHANGES", False))
        self.watched_poll = float(config.get("NOTIFICATION_WATCHED_POLL_SECONDS", self.poll))
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.watcher: OutboxWatcher | None = None

    # -- the loop --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self, *, once: bool = False) -> None:
        """Loop until stopped; with `once`, until nothing is due any more.

        A round that found work is followed at once by the next. An idle worker looks again
        after NOTIFICATION_POLL_SECONDS; with NOTIFICATION_WAKE_ON_CHANGES, as soon as a change
        stream says an outbox gained an intent, else after NOTIFICATION_WATCHED_POLL_SECONDS
        (what comes due by the clock: retries, quiet hours' end, replays), and every
        NOTIFICATION_POLL_SECONDS again where the database refuses change streams.
        """
        log.info("notification worker %s started", self.identity)
        self.watcher = watcher = None
        if self.wake_on_changes and not once:
            self.watcher = watcher = OutboxWatcher(self._wake, self._stop)
            watcher.start()
        finisher = Finisher()
        rounds = 0
        try:
            while not self._stop.is_set():
                self._wake.clear()  # what changes during the round wakes the next one
                try:
                    busy = self._round(utcnow(), finisher)
                except PyMongoError as exc:
                    log.warning("notification worker: database unavailable (%s)",
                                type(exc).__name__)
                    busy = 0
                except Exception:  # a bug must not end the process: log it, wait, go on
                    log.exception("notification worker round failed")
                    busy = 0
                rounds += 1
                if once and (not busy or rounds >= MAX_ROUNDS_ONCE):
                    break
                if not busy:
                    self._wake.wait(self.watched_poll if watcher and watcher.watching
                                    else self.poll)
        finally:
            finisher.close()
        log.info("notification worker %s stopped", self.identity)

    def run_once(self, now: datetime | None = None) -> int:
        """One round, all written before it returns; returns how much work it found."""
        return self._round(now or utcnow())

    def _round(self, now: datetime, finisher: Finisher | None = None) -> int:
        """Claim what is due, relay the pending outboxes (their deliveries queued under the same
        claim) and deliver all of it, pushes first and in one go. Only then are the pushes'
        outcomes recorded and the relayed intents taken out of the outboxes, so a worker that
        dies on the way loses nothing; a finisher does that beside the next round."""
        claim, claimed = self.claim(now)
        claim = claim or self._new_claim()
        batch = relay.relay_batch(limit=self.batch, lease=(claim, utcnow() + self.lease),
                                  relayed=finisher.relayed() if finisher else frozenset())
        deliveries = claimed + [Delivery._from_son(row) for row in batch.leased]
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_channel[delivery.channel].append(delivery)
        pushed: list = []
        if by_channel[Channel.PUSH]:
            self._guarded(partial(self._deliver_push, batch=batch, outcomes=pushed), claim,
                          by_channel[Channel.PUSH], now)

        def finish() -> None:
            self._finish_pushes(claim, pushed, now)
            relay.take_out(batch)

        if finisher is None:
            finish()
        else:
            finisher.submit(finish, batch.ids)
        for channel in (Channel.MINIPROGRAM, Channel.SMS, Channel.WEBHOOK):
            for delivery in by_channel[channel]:
                self._guarded(self._deliver_one, claim, [delivery], now)
        if batch.moved or deliveries:
            log.info("notification worker %s: relayed %d, handled %d deliveries",
                     self.identity, batch.moved, len(deliveries))
        return batch.moved + len(deliveries)

    def _guarded(self, handler, claim: str, deliveries: list[Delivery], now: datetime) -> None:
        try:
            handler(claim, deliveries, now)
        except Exception as exc:  # a bug or an outage must not stop the other deliveries
            log.exception("delivering %d %s deliveries failed", len(deliveries),
                          deliveries[0].channel)
            for delivery in deliveries:
                self._record(delivery, claim, Outcome(RETRY, error=type(exc).__name__), now)

    # -- leases ------------------------------------------------------------------------------
    def _new_claim(self) -> str:
        return f"{self.identity}:{uuid.uuid4().hex[:12]}"

    def claim(self, now: datetime) -> tuple[str, list[Delivery]]:
        """Take up to a batch of due deliveries whose lease is free; each claim is an attempt.

        A claim also moves the delivery's next attempt to the end of its lease, so what is due is
        found on the (status, next_attempt_at) index alone; the lease itself is what the claiming
        update checks."""
        collection = Delivery._get_collection()
        due = {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}}
        for _ in range(3):  # others may take the same candidates first: look again
            ids = [row["_id"] for row in collection.find(due, {"_id": 1})
                   .sort("next_attempt_at", 1).limit(self.batch)]
            if not ids:
                break
            claim = self._new_claim()
            until = now + self.lease
            taken = collection.update_many(
                {"_id": {"$in": ids}, **due, "lease_until": {"$lte": now}},
                {"$set": {"lease_owner": claim, "lease_until": until, "next_attempt_at": until},
                 "$inc": {"attempts": 1}})
            if taken.modified_count:
                return claim, [Delivery._from_son(row) for row in collection.find(
                    {"_id": {"$in": ids}, "lease_owner": claim})]
        return "", []

    def _record(self, delivery: Delivery, claim: str, outcome: Outcome,
                now: datetime) -> str | None:
        """Write the outcome if we still hold the lease; returns the delivery's new status."""
        update, status = self._outcome_update(delivery, outcome, now)
        written = Delivery._get_collection().update_one(
            {"_id": delivery.id, "lease_owner": claim}, update)
        if not written.modified_count:
            log.warning("lease on delivery %s expired before its outcome was recorded",
                        delivery.id)
            return None
        return status

    def _record_many(self, claim: str, outcomes: list[tuple[Delivery, Outcome]],
                     now: datetime) -> None:
        """Write several outcomes in one command, each only while we still hold its lease (for
        deliveries whose new status nothing else depends on)."""
        if not outcomes:
            return
        writes = [UpdateOne({"_id": delivery.id, "lease_owner": claim},
                            self._outcome_update(delivery, outcome, now)[0])
                  for delivery, outcome in outcomes]
        written = Delivery._get_collection().bulk_write(writes, ordered=False)
        if written.matched_count < len(writes):
            log.warning("leases on %d of %d deliveries expired before their outcomes were "
                        "recorded", len(writes) - written.matched_count, len(writes))

    def _outcome_update(self, delivery: Delivery, outcome: Outcome,
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

    def _over_budget(self, delivery: Delivery, claim: str, now: datetime) -> bool:
        # Claimed more often than the budget allows: earlier workers died holding it.
        if delivery.attempts <= self.max_attempts:
            return False
        self._record(delivery, claim, Outcome(DeliveryStatus.FAILED.value,
                                              error="retry budget spent"), now)
        return True

    def _gate(self, delivery: Delivery, preferences, enabled: bool,
              now: datetime) -> Outcome | None:
        """Off, or quiet hours: the outcome that stops this send now; None to go ahead."""
        if not enabled:
            return Outcome(DeliveryStatus.SKIPPED.value, error="turned off by the citizen")
        until = quiet_until(preferences, now, self.timezone)
        if until is not None:
            return Outcome(HOLD, until=until, quiet=True)
        return None

    # -- push ----------------------------------------------------------------------------------
    def _deliver_push(self, claim: str, deliveries: list[Delivery], now: datetime,
                      batch: relay.Batch | None = None, outcomes: list | None = None) -> None:
        """Every due push of the round in one go: one read of each kind for all of them (none for
        what the round's relay already holds), one gateway call (batched by 500), one write of
        the outcomes (left in `outcomes` for the caller to record, if given)."""
        live = [d for d in deliveries if not self._over_budget(d, claim, now)]
        for delivery in deliveries:
            if delivery not in live:
                self._after_push(delivery, DeliveryStatus.FAILED.value, now)
        if not live:
            return
        batch = batch or relay.Batch()
        notes = {nid: Notification._from_son(batch.notifications[nid])
                 for nid in {d.notification for d in live} if nid in batch.notifications}
        unknown = sorted({d.notification for d in live} - set(notes))
        if unknown:
            notes.update({n.id: n for n in Notification.objects(id__in=unknown)
                          .only(*PUSHED_FIELDS)})
        recipients = sorted({d.recipient for d in live})
        preferences = {r: NotificationPreferences._from_son(batch.preferences[r])
                       for r in recipients if batch.preferences.get(r)}
        unknown = [r for r in recipients if r not in batch.preferences]
        if unknown:
            preferences.update({p.user: p for p in NotificationPreferences.objects(
                user__in=unknown)})
        locales = {r: batch.users[r].get("locale") for r in recipients if r in batch.users}
        unknown = [r for r in recipients if r not in locales and ObjectId.is_valid(r)]
        if unknown:
            locales.update({str(u.id): u.locale for u in User.objects(id__in=unknown)
                            .only("locale")})
        devices: dict[str, list[Device]] = defaultdict(list)
        for device in Device.objects(user__in=recipients).order_by("-last_seen_at"):
            devices[device.user].append(device)
        paused = self._paused_until(Channel.PUSH, now)

        finished: list[tuple[Delivery, Outcome, Notification | None]] = []
        sending: list[tuple[Delivery, list[fcm.PushMessage]]] = []
        for delivery in live:
            note = notes.get(delivery.notification)
            prefs = preferences.get(delivery.recipient)
            if note is None:
                finished.append((delivery, Outcome(DeliveryStatus.SKIPPED.value,
                                                   error="notification gone"), None))
                continue
            stop = self._gate(delivery, prefs, prefs is None or prefs.push, now)
            if stop is None and paused:
                stop = Outcome(HOLD, until=paused, error="FCM asked us to wait")
            if stop is not None:
                finished.append((delivery, stop, note))
                continue
            reached = set(delivery.state.get("reached") or [])
            targets = [d for d in devices.get(delivery.recipient, []) if d.token not in reached]
            if not targets:
                finished.append((delivery, Outcome(
                    DeliveryStatus.DELIVERED.value if reached else DeliveryStatus.SKIPPED.value,
                    error=None if reached else "no registered device"), note))
                continue
            fallback_locale = locales.get(delivery.recipient) or "zh-CN"
            sending.append((delivery, [fcm.PushMessage(
                token=device.token, notification_id=note.id, type=note.type,
                application_id=note.application,
                title=pick(note.title, device.locale or fallback_locale),
                body=pick(note.body, device.locale or fallback_locale)) for device in targets]))

        messages = [message for _, batch in sending for message in batch]
        results = fcm.push_gateway().send(messages) if messages else []
        dead = sorted({r.token for r in results if r.outcome == "unregistered"})
        if dead:
            removed = Device.objects(token__in=dead).delete()
            log.info("removed %d device tokens FCM no longer knows", removed)
        position = 0
        for delivery, batch in sending:
            answers = results[position:position + len(batch)]
            position += len(batch)
            finished.append((delivery, self._push_outcome(delivery, answers, now),
                             notes[delivery.notification]))
        if outcomes is None:
            self._finish_pushes(claim, finished, now)
        else:
            outcomes += finished

    def _finish_pushes(self, claim: str, finished: list[tuple[Delivery, Outcome, object]],
                       now: datetime) -> None:
        """Record the pushes' outcomes. What must not be missed has an SMS standing by, which
        each outcome moves: those are recorded one by one; every other in one write."""
        self._record_many(claim, [(d, o) for d, o, _ in finished if d.type not in MUST_NOT_MISS],
                          now)
        for delivery, outcome, note in finished:
            if delivery.type in MUST_NOT_MISS:
                self._finish_push(delivery, claim, outcome, now, note)

    def _push_outcome(self, delivery: Delivery, answers: list[fcm.PushResult],
                      now: datetime) -> Outcome:
        reached = set(delivery.state.get("reached") or [])
        reached |= {a.token for a in answers if a.outcome == "sent"}
        retry = [a for a in answers if a.outcome == "retry"]
        failed = [a for a in answers if a.outcome == "failed"]
        state = {"reached": sorted(reached)}
        if any(a.quota for a in retry):
            wait = max(a.retry_after or 0.0 for a in retry) or self.backoff_base
            self._pause(Channel.PUSH, now + timedelta(seconds=wait))
        if retry:
            if reached and delivery.attempts >= self.max_attempts:
                return Outcome(DeliveryStatus.DELIVERED.value, error=retry[0].error,
                               state=state, sends=len(answers))
            return Outcome(RETRY, error=retry[0].error, state=state, sends=len(answers),
                           retry_after=max((a.retry_after or 0.0) for a in retry))
        if reached:
            return Outcome(DeliveryStatus.DELIVERED.value, state=state, sends=len(answers))
        if failed:
            return Outcome(DeliveryStatus.FAILED.value, error=failed[0].error, state=state,
                           sends=len(answers))
        return Outcome(DeliveryStatus.SKIPPED.value, error="every device token was unregistered",
                       state=state, sends=len(answers))

    def _finish_push(self, delivery: Delivery, claim: str, outcome: Outcome, now: datetime,
                     note: Notification | None = None) -> None:
        status = self._record(delivery, claim, outcome, now)
        if status is not None:
            self._after_push(delivery, status, now, note, outcome)

    def _after_push(self, delivery: Delivery, status: str, now: datetime,
                    note: Notification | None = None, outcome: Outcome | None = None) -> None:
        """Stand the SMS fallback down when push reached the citizen; call it up when push cannot,
        or has kept failing for NOTIFICATION_SMS_FALLBACK_AFTER."""
        if delivery.type not in MUST_NOT_MISS:
            return  # no SMS stands by for it
        if status == DeliveryStatus.DELIVERED or (outcome and outcome.state.get("reached")):
            self._set_fallback(delivery.notification, DeliveryStatus.SKIPPED, now)
            return
        unreachable = status in (DeliveryStatus.SKIPPED, DeliveryStatus.FAILED)
        failing_long = (outcome is not None and outcome.status == RETRY and note is not None
                        and now - note.created_at >= self.sms_after)
        if unreachable or failing_long:
            self._set_fallback(delivery.notification, DeliveryStatus.PENDING, now)

    def _set_fallback(self, notification_id: str, status: DeliveryStatus, now: datetime) -> None:
        Delivery._get_collection().update_one(
            {"_id": delivery_id(notification_id, Channel.SMS), "status": DeliveryStatus.STANDBY},
            {"$set": {"status": status.value, "next_attempt_at": now, "updated_at": now}})

    def _pause(self, channel: str, until: datetime) -> None:
        ChannelPause._get_collection().update_one(
            {"_id": str(channel)}, {"$max": {"until": until}}, upsert=True)

    def _paused_until(self, channel: str, now: datetime) -> datetime | None:
        pause = ChannelPause.objects(id=str(channel)).first()
        return pause.until if pause and pause.until > now else None

    # -- the other channels --------------------------------------------------------------------
    def _deliver_one(self, claim: str, deliveries: list[Delivery], now: datetime) -> None:
        delivery = deliveries[0]
        if self._over_budget(delivery, claim, now):
            return
        note = Notification.objects(id=delivery.notification).first()
        if note is None:
            outcome = Outcome(DeliveryStatus.SKIPPED.value, error="notification gone")
        elif delivery.channel == Channel.WEBHOOK:
            outcome = self._webhook(delivery, note)
        else:
            prefs = NotificationPreferences.objects(user=delivery.recipient).first()
            if delivery.channel == Channel.SMS:
                outcome = self._sms(delivery, note, prefs, now)
            else:
                outcome = self._miniprogram(delivery, claim, note, prefs, now)
        status = self._record(delivery, claim, outcome, now)
        if (delivery.channel == Channel.MINIPROGRAM and status == DeliveryStatus.DELIVERED
                and delivery.type in MUST_NOT_MISS):
            self._set_fallback(delivery.notification, DeliveryStatus.SKIPPED, now)

    def _sms(self, delivery: Delivery, note: Notification, prefs, now: datetime) -> Outcome:
        from common import crypto
        from notifications.sms import SmsError, sms_gateway

        push = Delivery.objects(id=delivery_id(note.id, Channel.PUSH)).only("state").first()
        if push is not None and push.state.get("reached"):
            return Outcome(DeliveryStatus.SKIPPED.value, error="push reached the citizen")
        if Delivery.objects(notification=note.id, channel=Channel.MINIPROGRAM.value,
                            status=DeliveryStatus.DELIVERED.value).count():
            return Outcome(DeliveryStatus.SKIPPED.value, error="a mini-program message reached "
                                                              "the citizen")
        stop = self._gate(delivery, prefs, prefs is None or prefs.sms, now)
        if stop is not None:
            return stop
        user = User.objects(id=delivery.recipient).only("phone_encrypted", "locale").first() \
            if ObjectId.is_valid(delivery.recipient) else None
        if user is None or not user.phone_encrypted:
            return Outcome(DeliveryStatus.SKIPPED.value, error="no phone number")
        locale = user.locale or "zh-CN"
        separator = "：" if locale == "zh-CN" else ": "
        text = pick(note.title, locale) + separator + pick(note.body, locale)
        try:
            message_id = sms_gateway().send(crypto.decrypt(user.phone_encrypted), text)
        except SmsError as exc:
            return Outcome(RETRY, error=f"SMS gateway: {exc}", sends=1)
        return Outcome(DeliveryStatus.DELIVERED.value, state={"message_id": message_id}, sends=1)

    def _miniprogram(self, delivery: Delivery, claim: str, note: Notification, prefs,
                     now: datetime) -> Outcome:
        from common import crypto
        from models.user import PlatformBinding

        platform = delivery.target
        template = miniprogram.template_for(platform, note.type)
        if template is None:
            return Outcome(DeliveryStatus.SKIPPED.value, error="no template for this event")
        stop = self._gate(delivery, prefs, prefs is None or prefs.miniprogram, now)
        if stop is not None:
            return stop
        binding = PlatformBinding.objects(user=delivery.recipient, platform=platform).first()
        if binding is None:
            return Outcome(DeliveryStatus.SKIPPED.value, error="not signed in on the platform")
        if not delivery.state.get("reserved"):
            # Spend one of the citizen's one-time acceptances before sending, never after: a
            # crash may waste one, but nothing is ever sent beyond what they accepted.
            if not reserve_subscription(delivery.recipient, platform, template["id"]):
                return Outcome(DeliveryStatus.SKIPPED.value, error="no subscription left")
            Delivery._get_collection().update_one({"_id": delivery.id, "lease_owner": claim},
                                                  {"$set": {"state.reserved": True}})
        locale = (User.objects(id=delivery.recipient).only("locale").first().locale
                  if ObjectId.is_valid(delivery.recipient) else None) or "zh-CN"
        values = {"title": pick(note.title, locale), "body": pick(note.body, locale),
                  "time": note.at.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M"),
                  "application": note.application or ""}
        data = {key: values.get(source, "")[:20] for key, source in template["fields"].items()}
        try:
            message_id = miniprogram.platform_client(platform).send_subscription_message(
                subject=crypto.decrypt(binding.subject_encrypted), template_id=template["id"],
                data=data, page=_page(note), locale=locale)
        except miniprogram.SubscriptionRefused as exc:
            NotificationPreferences._get_collection().update_one(
                {"user": delivery.recipient},
                {"$set": {"subscriptions.$[s].remaining": 0}},
                array_filters=[{"s.platform": platform, "s.template": template["id"]}])
            return Outcome(DeliveryStatus.SKIPPED.value, error=f"platform refused: {exc}",
                           sends=1)
        except miniprogram.PlatformError as exc:
            return Outcome(RETRY, error=f"platform: {exc}", sends=1)
        return Outcome(DeliveryStatus.DELIVERED.value, state={"message_id": message_id}, sends=1)

    def _webhook(self, delivery: Delivery, note: Notification) -> Outcome:
        from models.partner import Partner
        from services.identity.partner_accounts import partner_webhook_secret

        partner = Partner.objects(id=delivery.target).first() \
            if ObjectId.is_valid(delivery.target or "") else None
        if partner is None or not partner.active or not partner.webhook_url:
            return Outcome(DeliveryStatus.SKIPPED.value, error="partner inactive or without URL")
        secret = partner_webhook_secret(partner)
        if not secret:
            return Outcome(DeliveryStatus.FAILED.value, error="partner has no webhook secret")
        result = webhooks.post(partner.webhook_url, secret, webhooks.event_body(note),
                               timeout=self.webhook_timeout)
        if result.outcome == "delivered":
            return Outcome(DeliveryStatus.DELIVERED.value, state={"status": result.status},
                           sends=1)
        if result.outcome == "retry":
            return Outcome(RETRY, error=result.error, retry_after=result.retry_after, sends=1)
        if result.outcome == "gone":
            return Outcome(DeliveryStatus.SKIPPED.value, error="partner answered 410 Gone",
                           sends=1)
        return Outcome(DeliveryStatus.FAILED.value, error=result.error, sends=1)


def reserve_subscription(user_id: str, platform: str, template_id: str) -> bool:
    """Take one remaining send of a one-time template, if any is left (one conditional update)."""
    written = NotificationPreferences._get_collection().update_one(
        {"user": user_id, "subscriptions": {"$elemMatch": {
            "platform": platform, "template": template_id, "remaining": {"$gt": 0}}}},
        {"$inc": {"subscriptions.$[s].remaining": -1}},
        array_filters=[{"s.platform": platform, "s.template": template_id,
                        "s.remaining": {"$gt": 0}}])
    return bool(written.modified_count)


def _page(note: Notification) -> str | None:
    page = current_app.config.get("MINIPROGRAM_PAGE") or ""
    return page.format(application=note.application or "") if page else None
