"""Lanes: each channel delivered one at a time (mini-program, SMS, partner webhooks) works in a
thread of its own, claiming only its own deliveries, so an outside service that hangs or fails
delays its own channel and nothing else: a partner's webhook that answers after its timeout holds
up neither the pushes nor the SMS, and each backlog drains on its own once its service is back.
"""
import logging
import threading
from collections.abc import Callable, Mapping

from flask import current_app
from pymongo.errors import PyMongoError

from models.base import utcnow
from models.notification import Channel, Delivery
from notifications.leases import Leases

log = logging.getLogger(__name__)

# The setting that bounds one send on each lane's channel.
TIMEOUTS = {Channel.MINIPROGRAM: "MINIPROGRAM_TIMEOUT", Channel.SMS: "SMS_TIMEOUT",
            Channel.WEBHOOK: "WEBHOOK_TIMEOUT"}
IDLE_SECONDS = 1.0  # what comes due by the clock (retries) is found within this long
# While a change stream wakes the worker, the worker wakes its lanes for every delivery it
# queues and every SMS its pushes call up: only what comes due by the clock (a retry, the end of
# quiet hours) waits for a lane's own look, and three lanes looking every second were most of
# the worker's database commands under load.
WATCHED_IDLE_SECONDS = 5.0


class Lane:
    """One channel's deliveries in a thread: claim what is due, send it one by one, repeat."""

    def __init__(self, channel: Channel, config: Mapping, leases: Leases,
                 deliver: Callable[[str, list[Delivery]], None]):
        self.channel, self.leases, self.deliver = channel, leases, deliver
        # Never claim more than can be sent before the lease ends, every send at its timeout:
        # else a slow service would see its deliveries claimed again and sent twice.
        timeout = float(config[TIMEOUTS[channel]])
        lease = leases.lease.total_seconds()
        self.limit = max(1, min(leases.batch, int(lease // (2 * max(timeout, 0.1)))))
        self.idle = min(IDLE_SECONDS, float(config["NOTIFICATION_POLL_SECONDS"]) * 10)
        self.wake = threading.Event()
        self.watched: Callable[[], bool] = lambda: False  # is the worker woken by changes?
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> None:
        """Run in a thread of its own, in the caller's app (settings, keys, adapters)."""
        app = current_app._get_current_object()
        self._thread = threading.Thread(target=self._run, args=(app, stop), daemon=True,
                                        name=f"lane-{self.channel.value}")
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def round(self) -> int:
        """Claim and send what is due on this channel; returns how many were claimed."""
        claim, claimed = self.leases.claim(utcnow(), channels=[self.channel.value],
                                           limit=self.limit)
        for delivery in claimed:
            self.deliver(claim, [delivery])
        return len(claimed)

    def _run(self, app, stop: threading.Event) -> None:
        with app.app_context():
            self._loop(stop)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                busy = self.round()
            except PyMongoError as exc:
                log.warning("%s lane: database unavailable (%s)", self.channel.value,
                            type(exc).__name__)
                busy = 0
            except Exception:  # a bug must not end the lane: log it, wait, go on
                log.exception("%s lane round failed", self.channel.value)
                busy = 0
            if not busy:
                self.wake.wait(WATCHED_IDLE_SECONDS if self.watched() else self.idle)
