"""Partner webhooks: each event the partner asked for, signed with its own secret."""
from collections.abc import Mapping

from bson import ObjectId

from models.notification import Delivery, DeliveryStatus, Notification
from models.partner import Partner
from notifications import webhooks
from notifications.leases import RETRY, Outcome


class WebhookChannel:
    def __init__(self, config: Mapping):
        self.timeout = float(config["WEBHOOK_TIMEOUT"])

    def send(self, delivery: Delivery, note: Notification) -> Outcome:
        partner = Partner.objects(id=delivery.target).first() \
            if ObjectId.is_valid(delivery.target or "") else None
        if partner is None or not partner.active or not partner.webhook_url:
            return Outcome(DeliveryStatus.SKIPPED.value, error="partner inactive or without URL")
        secret = partner.webhook_secret()
        if not secret:
            return Outcome(DeliveryStatus.FAILED.value, error="partner has no webhook secret")
        result = webhooks.post(partner.webhook_url, secret, webhooks.event_body(note),
                               timeout=self.timeout)
        if result.outcome == "delivered":
            return Outcome(DeliveryStatus.DELIVERED.value, state={"status": result.status},
                           sends=1)
        if result.outcome == "retry":
            return Outcome(RETRY, error=result.error, retry_after=result.retry_after, sends=1)
        if result.outcome == "gone":
            return Outcome(DeliveryStatus.SKIPPED.value, error="partner answered 410 Gone",
                           sends=1)
        return Outcome(DeliveryStatus.FAILED.value, error=result.error, sends=1)
