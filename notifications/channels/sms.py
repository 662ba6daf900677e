"""SMS: the fallback for what must not be missed, standing by until push or a mini-program
message reaches the citizen, or cannot."""
from collections.abc import Mapping
from datetime import datetime

from bson import ObjectId

from common import crypto
from common.i18n import pick
from models.notification import Channel, Delivery, DeliveryStatus, Notification, delivery_id
from models.user import User
from notifications import miniprogram
from notifications.channels.gate import gate
from notifications.leases import RETRY, Outcome
from notifications.sms import SmsError, sms_gateway


def set_fallback(notification_id: str, status: DeliveryStatus, now: datetime) -> None:
    """Call the SMS standing by for a notification up (pending) or stand it down (skipped)."""
    Delivery._get_collection().update_one(
        {"_id": delivery_id(notification_id, Channel.SMS), "status": DeliveryStatus.STANDBY},
        {"$set": {"status": status.value, "next_attempt_at": now, "updated_at": now}})


class SmsChannel:
    def __init__(self, config: Mapping):
        self.timezone = config["NOTIFICATION_TIMEZONE"]

    def send(self, delivery: Delivery, note: Notification, prefs, now: datetime) -> Outcome:
        # The notification's push and mini-program messages, found by their ids in one read.
        others = list(Delivery.objects(id__in=[delivery_id(note.id, Channel.PUSH)] + [
            delivery_id(note.id, Channel.MINIPROGRAM, p) for p in miniprogram.PLATFORMS])
            .only("channel", "status", "state"))
        if any(d.channel == Channel.PUSH and d.state.get("reached") for d in others):
            return Outcome(DeliveryStatus.SKIPPED.value, error="push reached the citizen")
        if any(d.channel == Channel.MINIPROGRAM and d.status == DeliveryStatus.DELIVERED
               for d in others):
            return Outcome(DeliveryStatus.SKIPPED.value, error="a mini-program message reached "
                                                              "the citizen")
        stop = gate(prefs, prefs is None or prefs.sms, now, self.timezone)
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
