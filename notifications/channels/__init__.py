"""The outside channels a delivery goes through (push, mini-program, SMS, partner webhooks):
what each sends and how its outcome is recorded."""
from collections.abc import Mapping
from datetime import datetime

from models.notification import MUST_NOT_MISS, Channel, Delivery, DeliveryStatus, Notification
from models.preferences import NotificationPreferences
from notifications.channels.miniprogram import MiniProgramChannel
from notifications.channels.push import PushChannel
from notifications.channels.sms import SmsChannel, set_fallback
from notifications.channels.webhook import WebhookChannel
from notifications.leases import Leases, Outcome

ONE_BY_ONE = (Channel.MINIPROGRAM, Channel.SMS, Channel.WEBHOOK)  # after the pushes, in this order


class Channels:
    """Every channel of one worker, sharing its settings and its leases. Pushes go in one batch
    per round (`push`); the other channels one delivery at a time (`deliver_one`)."""

    def __init__(self, config: Mapping, leases: Leases):
        self.leases = leases
        self.push = PushChannel(config, leases)
        self.sms = SmsChannel(config)
        self.miniprogram = MiniProgramChannel(config, leases)
        self.webhook = WebhookChannel(config)

    def deliver_one(self, claim: str, deliveries: list[Delivery], now: datetime) -> None:
        delivery = deliveries[0]
        if self.leases.over_budget(delivery, claim, now):
            return
        note = Notification.objects(id=delivery.notification).first()
        if note is None:
            outcome = Outcome(DeliveryStatus.SKIPPED.value, error="notification gone")
        elif delivery.channel == Channel.WEBHOOK:
            outcome = self.webhook.send(delivery, note)
        else:
            prefs = NotificationPreferences.objects(user=delivery.recipient).first()
            if delivery.channel == Channel.SMS:
                outcome = self.sms.send(delivery, note, prefs, now)
            else:
                outcome = self.miniprogram.send(delivery, claim, note, prefs, now)
        status = self.leases.record(delivery, claim, outcome, now)
        if (delivery.channel == Channel.MINIPROGRAM and status == DeliveryStatus.DELIVERED
                and delivery.type in MUST_NOT_MISS):
            set_fallback(delivery.notification, DeliveryStatus.SKIPPED, now)
