"""The delivery worker's loop: rounds that relay outboxes and deliver what is due, woken by a
change stream on the outboxes, finished beside the next round.

Run as many as you like (`flask notifications worker`): they share the work through leases on
the deliveries (notifications.leases); what each channel sends and records is in
notifications.channels. The running loop relays and pushes; the channels sent one by one have a
lane each (notifications.lanes), so a slow outside service delays only its own channel.
"""
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Container, Mapping
from datetime import datetime
from functools import partial

from flask import current_app
from pymongo.errors import OperationFailure, PyMongoError

from models.base import utcnow
from models.notification import Channel, Delivery
from notifications import relay
from notifications.channels import ONE_BY_ONE, Channels
from notifications.lanes import Lane
from notifications.leases import RETRY, Leases, Outcome

log = logging.getLogger(__name__)

MAX_ROUNDS_ONCE = 1000


class Finisher:
    """Records the rounds' push outcomes and takes their intents out of the outboxes in a thread
    of its own, so the next round's relay and pushes need not wait for those writes; the relay
    leaves the intents being taken out alone. It gathers what the rounds of FLUSH_SECONDS leave
    and writes it together: a busy worker's rounds cost the commands of one (each write command
    is a commit of its own on the database), whatever their number. A worker killed before they
    are written loses nothing: the leases expire and the intents are still in their outboxes."""

    FLUSH_SECONDS = 0.5
    MOST_ROUNDS = 64  # waiting to be written; then the loop waits

    def __init__(self, push, flush_seconds: float = FLUSH_SECONDS,
                 sms_called: Callable[[], None] | None = None) -> None:
        """`sms_called` is called when the pushes' outcomes called up an SMS."""
        self.push, self.flush_seconds, self.sms_called = push, flush_seconds, sms_called
        self._changed = threading.Condition()
        self._rounds: list[tuple[str, list, datetime, relay.Batch]] = []
        self._relayed: set[str] = set()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="round-finisher", daemon=True)
        self._thread.start()

    def submit(self, claim: str, pushed: list, now: datetime, batch: relay.Batch) -> None:
        with self._changed:
            self._changed.wait_for(lambda: len(self._rounds) < self.MOST_ROUNDS)
            self._relayed |= batch.ids
            self._rounds.append((claim, pushed, now, batch))
            self._changed.notify_all()

    def relayed(self) -> set[str]:
        """Ids of the intents relayed and not yet taken out of their outboxes."""
        with self._changed:
            return set(self._relayed)

    def close(self) -> None:
        """Write what was submitted, then stop."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._rounds or self._closing)
                if not self._closing:  # gather the rounds that follow
                    self._changed.wait_for(lambda: self._closing, timeout=self.flush_seconds)
                rounds, self._rounds = self._rounds, []
                closing = self._closing
                self._changed.notify_all()
            if rounds:
                self._write(rounds)
            if closing and not rounds:
                return

    def _write(self, rounds: list[tuple[str, list, datetime, relay.Batch]]) -> None:
        called = False
        try:
            called = self.push.finish_rounds([(claim, pushed, now)
                                              for claim, pushed, now, _ in rounds])
            relay.take_out(*[batch for *_, batch in rounds])
        except Exception:  # the leases expire and the outboxes still hold the intents
            log.exception("recording %d rounds failed; their work will be done again",
                          len(rounds))
        finally:
            with self._changed:
                for *_, batch in rounds:
                    self._relayed -= batch.ids
        if called and self.sms_called is not None:
            self.sms_called()


class OutboxWatcher:
    """Wakes an idle worker the moment an outbox (an application's, a conversation's) gains an
    intent, through one change stream on the database, in a thread of its own. Where the
    database offers none (a standalone MongoDB server answers that change streams need a
    replica set), it gives up and the worker polls; on a lost connection it starts a new stream
    (the worker's polling covers the gap).

    The server sends only the changes that add an intent: an insert or replacement with the
    flag up, an update raising it, or an update appending to an outbox whose flag was up already
    (its change names `outbox.<n>`, and not the flag, which did not change). Everything else the
    applications take (claims, the relay's own clean-up) wakes nobody: on the embedded server,
    every wake is a round of the worker's commands."""

    PIPELINE = [{"$match": {
        "ns.coll": {"$in": [holder._meta["collection"] for holder in relay.OUTBOX_HOLDERS]},
        "$or": [
            {"operationType": {"$in": ["insert", "replace"]}, "fullDocument.outbox_pending": True},
            {"operationType": "update", "updateDescription.updatedFields.outbox_pending": True},
            {"operationType": "update", "$expr": {"$anyElementTrue": [{"$map": {
                "input": {"$objectToArray": "$updateDescription.updatedFields"},
                "in": {"$eq": [{"$substrCP": ["$$this.k", 0, 7]}, "outbox."]}}}]}},
        ]}}, {"$project": {"_id": 1}}]
    AWAIT_MS = 1000

    def __init__(self, wake: threading.Event, stop: threading.Event):
        self.wake, self.stop = wake, stop
        self.watching = False  # else the worker keeps polling

    def start(self) -> None:
        threading.Thread(target=self._watch, args=(relay.OUTBOX_HOLDERS[0]._get_db(),),
                         name="outbox-watcher", daemon=True).start()

    def _watch(self, database) -> None:
        while not self.stop.is_set():
            try:
                with database.watch(self.PIPELINE, max_await_time_ms=self.AWAIT_MS) as stream:
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
        self.poll = float(config["NOTIFICATION_POLL_SECONDS"])
        self.wake_on_changes = bool(config.get("NOTIFICATION_WAKE_ON_CHANGES", False))
        self.watched_poll = float(config.get("NOTIFICATION_WATCHED_POLL_SECONDS", self.poll))
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.leases = Leases(config, self.identity)
        self.channels = Channels(config, self.leases)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._due_found = False  # the last round's claim found due deliveries
        self.watcher: OutboxWatcher | None = None
        self.lanes = [Lane(channel, config, self.leases, self._deliver_one)
                      for channel in ONE_BY_ONE]

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for lane in self.lanes:
            lane.wake.set()

    def _deliver_one(self, claim: str, deliveries: list[Delivery]) -> None:
        self._guarded(self.channels.deliver_one, claim, deliveries, utcnow())

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

        def watched() -> bool:  # woken by changes now (the stream may drop, and come back)
            return bool(watcher and watcher.watching)

        lanes = not once  # `once` delivers every channel in its rounds, for a caller who waits
        finisher = Finisher(self.channels.push,
                            sms_called=partial(self._wake_lanes, [Channel.SMS.value])
                            if lanes else None)
        if lanes:
            for lane in self.lanes:
                lane.watched = watched
                lane.start(self._stop)
        rounds, claimed_at = 0, float("-inf")
        try:
            while not self._stop.is_set():
                self._wake.clear()  # what changes during the round wakes the next one
                # Woken by changes, a round relays what they added; what comes due by the clock
                # is claimed as often as an idle worker would look for it, or at once again
                # while the last claim found some.
                claim_due = (not watched() or self._due_found
                             or time.monotonic() - claimed_at >= self.watched_poll)
                if claim_due:
                    claimed_at = time.monotonic()
                try:
                    busy = self._round(utcnow(), finisher, lanes=lanes, claim_due=claim_due)
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
            for lane in self.lanes if lanes else ():
                lane.join(timeout=5.0)  # a send in flight may be abandoned: its lease expires
        log.info("notification worker %s stopped", self.identity)

    def run_once(self, now: datetime | None = None) -> int:
        """One round, all written before it returns; returns how much work it found."""
        return self._round(now or utcnow())

    def _round(self, now: datetime, finisher: Finisher | None = None, *,
               lanes: bool = False, claim_due: bool = True) -> int:
        """Relay the pending outboxes, their deliveries queued under this round's claim, and push
        those at once: nothing stands between a completion's wake-up and its push but the
        relay's own commands. Then claim what else is due (retries, a dead worker's leases, what
        a relay elsewhere queued) and deliver it. Only then are the pushes' outcomes recorded
        and the relayed intents taken out of the outboxes, so a worker that dies on the way
        loses nothing; a finisher does that beside the next round. With `lanes`, the round
        claims and delivers pushes only and wakes the lanes for the rest; without `claim_due`,
        it only relays."""
        only = [Channel.PUSH.value] if lanes else None
        claim = self.leases.new_claim()
        batch = relay.relay_batch(limit=self.leases.batch,
                                  lease=(claim, utcnow() + self.leases.lease),
                                  relayed=finisher.relayed() if finisher else frozenset(),
                                  leased_channels=only)
        pushed: list = []
        fresh = [Delivery._from_son(row) for row in batch.leased]
        self._push(claim, fresh, now, batch, pushed)
        claimed = self.leases.claim(now, channels=only, claim=claim)[1] if claim_due else []
        self._due_found = bool(claimed)
        self._push(claim, claimed, now, batch, pushed)
        deliveries = fresh + claimed

        if finisher is None:
            self.channels.push.finish(claim, pushed, now)
            relay.take_out(batch)
        else:
            finisher.submit(claim, pushed, now, batch)
        for channel in ONE_BY_ONE:
            for delivery in deliveries:
                if delivery.channel == channel:
                    self._guarded(self.channels.deliver_one, claim, [delivery], now)
        if lanes and batch.due_channels:
            self._wake_lanes(batch.due_channels)  # new deliveries of their channels
        if batch.moved or deliveries:
            log.info("notification worker %s: relayed %d, handled %d deliveries",
                     self.identity, batch.moved, len(deliveries))
        return batch.moved + len(deliveries)

    def _wake_lanes(self, channels: Container[str]) -> None:
        for lane in self.lanes:
            if lane.channel.value in channels:
                lane.wake.set()

    def _push(self, claim: str, deliveries: list[Delivery], now: datetime, batch: relay.Batch,
              outcomes: list) -> None:
        """Push these deliveries' pushes in one go; their outcomes are left in `outcomes`."""
        pushes = [delivery for delivery in deliveries if delivery.channel == Channel.PUSH]
        if pushes:
            self._guarded(partial(self.channels.push.deliver, batch=batch, outcomes=outcomes),
                          claim, pushes, now)

    def _guarded(self, handler, claim: str, deliveries: list[Delivery], now: datetime) -> None:
        try:
            handler(claim, deliveries, now)
        except Exception as exc:  # a bug or an outage must not stop the other deliveries
            log.exception("delivering %d %s deliveries failed", len(deliveries),
                          deliveries[0].channel)
            for delivery in deliveries:
                self.leases.record(delivery, claim, Outcome(RETRY, error=type(exc).__name__),
                                   now)
