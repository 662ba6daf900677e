"""Mini-program subscription messages (WeChat, Alipay): one per acceptance the citizen gave,
spent before sending."""
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bson import ObjectId
from flask import current_app

from common import crypto
from common.i18n import pick
from models.notification import Delivery, DeliveryStatus, Notification
from models.preferences import NotificationPreferences
from models.user import PlatformBinding, User
from notifications import miniprogram
from notifications.channels.gate import gate
from notifications.leases import RETRY, Leases, Outcome, held


class MiniProgramChannel:
    def __init__(self, config: Mapping, leases: Leases):
        self.leases = leases
        self.timezone = config["NOTIFICATION_TIMEZONE"]

    def send(self, delivery: Delivery, claim: str, note: Notification, prefs,
             now: datetime) -> Outcome:
        platform = delivery.target
        template = miniprogram.template_for(platform, note.type)
        if template is None:
            return Outcome(DeliveryStatus.SKIPPED.value, error="no template for this event")
        stop = gate(prefs, prefs is None or prefs.miniprogram, now, self.timezone)
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
            Delivery._get_collection().update_one(
                {"_id": delivery.id}, held({"$set": {"state.reserved": True}}, claim))
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
