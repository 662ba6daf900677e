"""Push through FCM: every due push of a round in one go, each device in its own language; the
outcome moves the SMS standing by for what must not be missed, and FCM's quota pauses the
channel."""
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from bson import ObjectId

from common.i18n import pick
from models.device import Device
from models.notification import (
    MUST_NOT_MISS,
    Channel,
    ChannelPause,
    Delivery,
    DeliveryStatus,
    Notification,
)
from models.preferences import NotificationPreferences
from models.user import User
from notifications import fcm, relay
from notifications.channels.gate import gate
from notifications.channels.sms import set_fallback
from notifications.leases import HOLD, RETRY, Leases, Outcome

log = logging.getLogger(__name__)

# What a push needs of its notification.
PUSHED_FIELDS = ("id", "type", "application", "data", "title", "body", "created_at")


class PushChannel:
    def __init__(self, config: Mapping, leases: Leases):
        self.leases = leases
        self.max_attempts = int(config["NOTIFICATION_MAX_ATTEMPTS"])
        self.backoff_base = float(config["NOTIFICATION_BACKOFF_BASE"])
        self.sms_after = timedelta(seconds=float(config["NOTIFICATION_SMS_FALLBACK_AFTER"]))
        self.timezone = config["NOTIFICATION_TIMEZONE"]

    def deliver(self, claim: str, deliveries: list[Delivery], now: datetime,
                batch: relay.Batch | None = None, outcomes: list | None = None) -> None:
        """Every due push of the round in one go: one read of each kind for all of them (none for
        what the round's relay already holds), one gateway call (batched by 500), one write of
        the outcomes (left in `outcomes` for the caller to record, if given)."""
        live = [d for d in deliveries if not self.leases.over_budget(d, claim, now)]
        for delivery in deliveries:
            if delivery not in live:
                self.after_push(delivery, DeliveryStatus.FAILED.value, now)
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
        # The round's relay read the devices of its recipients and the pause with their accounts.
        looked_up = {r for r in recipients if r in batch.users} if batch.looked_up else set()
        for recipient in looked_up:
            devices[recipient] = [Device._from_son(row) for row in batch.devices.get(recipient, [])]
        unknown = [r for r in recipients if r not in looked_up]
        if unknown:
            for device in Device.objects(user__in=unknown).order_by("-last_seen_at"):
                devices[device.user].append(device)
        if batch.looked_up:
            paused = batch.push_pause if batch.push_pause and batch.push_pause > now else None
        else:
            paused = self.paused_until(now)

        finished: list[tuple[Delivery, Outcome, Notification | None]] = []
        sending: list[tuple[Delivery, list[fcm.PushMessage]]] = []
        for delivery in live:
            note = notes.get(delivery.notification)
            prefs = preferences.get(delivery.recipient)
            if note is None:
                finished.append((delivery, Outcome(DeliveryStatus.SKIPPED.value,
                                                   error="notification gone"), None))
                continue
            stop = gate(prefs, prefs is None or prefs.push, now, self.timezone)
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
                conversation_id=(note.data or {}).get("conversation"),
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
            finished.append((delivery, self._outcome(delivery, answers, now),
                             notes[delivery.notification]))
        if outcomes is None:
            self.finish(claim, finished, now)
        else:
            outcomes += finished

    def finish(self, claim: str, finished: list[tuple[Delivery, Outcome, object]],
               now: datetime) -> None:
        """Record the pushes' outcomes (one round's, under its claim)."""
        self.finish_rounds([(claim, finished, now)])

    def finish_rounds(self, rounds: list[tuple[str, list[tuple[Delivery, Outcome, object]],
                                                datetime]]) -> bool:
        """Record the outcomes of several rounds' pushes ((claim, outcomes, when)). What must not
        be missed has an SMS standing by, which each outcome moves: those are recorded one by
        one; every other in one write. True if an SMS was called up."""
        called = False
        self.leases.record_many([(claim, d, o, now) for claim, finished, now in rounds
                                 for d, o, _ in finished if d.type not in MUST_NOT_MISS])
        for claim, finished, now in rounds:
            for delivery, outcome, note in finished:
                if delivery.type in MUST_NOT_MISS:
                    status = self.leases.record(delivery, claim, outcome, now)
                    if status is not None:
                        called |= self.after_push(delivery, status, now, note, outcome)
        return called

    def _outcome(self, delivery: Delivery, answers: list[fcm.PushResult],
                 now: datetime) -> Outcome:
        reached = set(delivery.state.get("reached") or [])
        reached |= {a.token for a in answers if a.outcome == "sent"}
        retry = [a for a in answers if a.outcome == "retry"]
        failed = [a for a in answers if a.outcome == "failed"]
        state = {"reached": sorted(reached)}
        if any(a.quota for a in retry):
            wait = max(a.retry_after or 0.0 for a in retry) or self.backoff_base
            self.pause(now + timedelta(seconds=wait))
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

    def after_push(self, delivery: Delivery, status: str, now: datetime,
                   note: Notification | None = None, outcome: Outcome | None = None) -> bool:
        """Stand the SMS fallback down when push reached the citizen; call it up when push cannot,
        or has kept failing for NOTIFICATION_SMS_FALLBACK_AFTER; True if it called it up."""
        if delivery.type not in MUST_NOT_MISS:
            return False  # no SMS stands by for it
        if status == DeliveryStatus.DELIVERED or (outcome and outcome.state.get("reached")):
            set_fallback(delivery.notification, DeliveryStatus.SKIPPED, now)
            return False
        unreachable = status in (DeliveryStatus.SKIPPED, DeliveryStatus.FAILED)
        failing_long = (outcome is not None and outcome.status == RETRY and note is not None
                        and now - note.created_at >= self.sms_after)
        if unreachable or failing_long:
            set_fallback(delivery.notification, DeliveryStatus.PENDING, now)
            return True
        return False

    @staticmethod
    def pause(until: datetime) -> None:
        ChannelPause._get_collection().update_one(
            {"_id": str(Channel.PUSH)}, {"$max": {"until": until}}, upsert=True)

    @staticmethod
    def paused_until(now: datetime) -> datetime | None:
        pause = ChannelPause.objects(id=str(Channel.PUSH)).first()
        return pause.until if pause and pause.until > now else None
