"""The inbox, push devices and notification preferences; failed deliveries; webhook replays."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.notifications import (
    DeliverySchema,
    DeviceCreateSchema,
    DeviceSchema,
    FailedDeliveriesSchema,
    FailedQueryArgsSchema,
    InboxQueryArgsSchema,
    InboxSchema,
    NotificationSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
    ReadAllSchema,
    SubscriptionRecordSchema,
    WebhookReplayResultSchema,
    WebhookReplaySchema,
)
from models.partner import Scope
from models.user import USER_ROLES, Role
from services.inbox import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1",
                description="What citizens are told: inbox, devices, preferences; "
                            "failed deliveries for admins; webhook replays for partners")


@blp.route("/me/notifications")
class Inbox(MethodView):
    @auth_required(role=USER_ROLES)
    @blp.arguments(InboxQueryArgsSchema, location="query")
    @blp.response(200, InboxSchema)
    def get(self, args):
        """My notifications, newest first, with how many are unread (staff: their alerts)"""
        return notifications.inbox(user_id=current_user().id, page=args["page"],
                                   page_size=args["page_size"], unread_only=args["unread"])


@blp.route("/me/notifications/<notification_id>/read")
class NotificationRead(MethodView):
    @auth_required(role=USER_ROLES)
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one notification read"""
        return notifications.mark_read(user_id=current_user().id,
                                       notification_id=notification_id)


@blp.route("/me/notifications/read-all")
class NotificationsReadAll(MethodView):
    @auth_required(role=USER_ROLES)
    @blp.response(200, ReadAllSchema)
    def post(self):
        """Mark every notification read"""
        return {"marked": notifications.mark_all_read(user_id=current_user().id)}


@blp.route("/me/devices")
class Devices(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, DeviceSchema(many=True))
    def get(self):
        """My devices that receive push notifications"""
        return notifications.list_devices(user_id=current_user().id)

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceSchema)
    @blp.alt_response(200, schema=DeviceSchema, description="the token was already mine")
    def post(self, payload):
        """Register this device's push token (again is harmless)"""
        device, new = notifications.register_device(user_id=current_user().id, **payload)
        return device, 201 if new else 200


@blp.route("/me/devices/<device_id>")
class DeviceById(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    def delete(self, device_id):
        """Stop pushing to a device"""
        notifications.remove_device(user_id=current_user().id, device_id=device_id)


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, PreferencesSchema)
    def get(self):
        """My channels, quiet hours and mini-program subscriptions"""
        return notifications.preferences(user_id=current_user().id)

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(PreferencesUpdateSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, payload):
        """Set my channels and quiet hours (push waits for morning; the inbox never does)"""
        return notifications.update_preferences(
            user_id=current_user().id, quiet_hours=payload["quiet_hours"],
            timezone=payload["timezone"], **payload["channels"])


@blp.route("/me/miniprogram-subscriptions")
class MiniProgramSubscriptions(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(SubscriptionRecordSchema)
    @blp.response(200, PreferencesSchema)
    def post(self, payload):
        """Record my answer to a mini-program's subscription prompt (one message per acceptance)"""
        return notifications.record_subscriptions(user_id=current_user().id, **payload)


@blp.route("/admin/notifications/failed")
class FailedDeliveries(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(FailedQueryArgsSchema, location="query")
    @blp.response(200, FailedDeliveriesSchema)
    def get(self, args):
        """Deliveries that spent their retry budget or were refused, newest first"""
        items, total = notifications.failed_deliveries(**args)
        return {"items": items, "total": total, "page": args["page"],
                "page_size": args["page_size"]}


@blp.route("/admin/notifications/failed/<delivery_id>/retry")
class FailedDeliveryRetry(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, DeliverySchema)
    def post(self, delivery_id):
        """Try a failed delivery again with a fresh retry budget"""
        return notifications.retry_delivery(delivery_id=delivery_id)


@blp.route("/partner/webhooks/replay")
class WebhookReplay(MethodView):
    @auth_required(scope=Scope.WEBHOOKS)
    @blp.arguments(WebhookReplaySchema)
    @blp.response(202, WebhookReplayResultSchema)
    @documented(blp, 404, "webhook_not_configured", "This partner has no webhook.")
    def post(self, payload):
        """Send my webhook events again since a moment (signed as before, same event ids)"""
        return notifications.replay_webhooks(partner_id=current_user().id, since=payload["since"])
