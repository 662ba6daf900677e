"""Notifications: inbox, push devices, preferences, subscriptions, failed deliveries, replays."""
from marshmallow import RAISE, Schema, fields, validate

from common.i18n import pick
from models.device import Platform

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM, 24-hour.")
LOCALE = validate.OneOf(["zh-CN", "en"])


class Strict(Schema):
    class Meta:
        unknown = RAISE


class PageArgsSchema(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class NotificationSchema(Schema):
    """One inbox entry in the caller's language."""

    id = fields.String(dump_only=True, metadata={"description": "the same id on every channel"})
    seq = fields.Integer(dump_only=True,
                         metadata={"description": "per-citizen order; the events' id"})
    type = fields.String(dump_only=True)
    title = fields.Method("_title", dump_only=True)
    body = fields.Method("_body", dump_only=True)
    detail = fields.Method("_detail", dump_only=True, allow_none=True,
                           metadata={"description": "more for the inbox, e.g. a reason"})
    application = fields.String(dump_only=True, allow_none=True)
    bundle = fields.String(dump_only=True, allow_none=True)
    task = fields.String(dump_only=True, allow_none=True)
    matter = fields.String(dump_only=True, allow_none=True)
    department = fields.String(dump_only=True, allow_none=True)
    data = fields.Dict(dump_only=True)
    at = fields.DateTime(dump_only=True, metadata={"description": "when it happened"})
    created_at = fields.DateTime(dump_only=True)
    read = fields.Method("_read", dump_only=True)
    read_at = fields.DateTime(dump_only=True, allow_none=True)

    def _title(self, notification):
        return pick(notification.title)

    def _body(self, notification):
        return pick(notification.body)

    def _detail(self, notification):
        return pick(notification.detail) or None

    def _read(self, notification):
        return notification.read_at is not None


class InboxQueryArgsSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread ones"})


class InboxSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), dump_only=True)
    unread = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)
    page = fields.Integer(dump_only=True)
    page_size = fields.Integer(dump_only=True)


class ReadAllSchema(Schema):
    marked = fields.Integer(dump_only=True)


class DeviceSchema(Schema):
    id = fields.String(dump_only=True)
    token = fields.String(dump_only=True)
    platform = fields.String(dump_only=True)
    locale = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True)


class DeviceCreateSchema(Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                          metadata={"description": "the FCM registration token"})
    platform = fields.String(required=True,
                             validate=validate.OneOf([p.value for p in Platform]))
    locale = fields.String(validate=LOCALE, metadata={"description": "the app's language"})


class QuietHoursSchema(Strict):
    start = fields.String(required=True, validate=HHMM, metadata={"example": "22:00"})
    end = fields.String(required=True, validate=HHMM, metadata={"example": "07:00"})


class ChannelsSchema(Strict):
    push = fields.Boolean(required=True)
    miniprogram = fields.Boolean(required=True)
    sms = fields.Boolean(required=True, metadata={
        "description": "fallback for what must not be missed (supplements, rejections)"})


class SubscriptionSchema(Schema):
    platform = fields.String(dump_only=True)
    template = fields.String(dump_only=True)
    remaining = fields.Integer(dump_only=True,
                               metadata={"description": "one-time messages still allowed"})


class PreferencesSchema(Schema):
    channels = fields.Method("_channels", dump_only=True)
    quiet_hours = fields.Nested(QuietHoursSchema, dump_only=True, allow_none=True)
    timezone = fields.String(dump_only=True, allow_none=True)
    subscriptions = fields.List(fields.Nested(SubscriptionSchema), dump_only=True)

    def _channels(self, preferences):
        return {"push": preferences.push, "miniprogram": preferences.miniprogram,
                "sms": preferences.sms}


class PreferencesUpdateSchema(Strict):
    channels = fields.Nested(ChannelsSchema, required=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True, load_default=None,
                                metadata={"description": "push held until `end`, local time"})
    timezone = fields.String(allow_none=True, load_default=None,
                             validate=validate.Length(min=1, max=64),
                             metadata={"description": "IANA name; default Asia/Shanghai"})


class SubscriptionRecordSchema(Strict):
    platform = fields.String(required=True, validate=validate.OneOf(["wechat", "alipay"]))
    accepted = fields.List(fields.String(validate=validate.Length(min=1, max=128)),
                           load_default=list, validate=validate.Length(max=50),
                           metadata={"description": "template ids the citizen accepted"})
    rejected = fields.List(fields.String(validate=validate.Length(min=1, max=128)),
                           load_default=list, validate=validate.Length(max=50),
                           metadata={"description": "template ids refused or banned"})


class FailedQueryArgsSchema(PageArgsSchema):
    channel = fields.String(validate=validate.OneOf(["push", "miniprogram", "sms", "webhook"]))


class DeliverySchema(Schema):
    id = fields.String(dump_only=True)
    notification = fields.String(dump_only=True)
    recipient = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    channel = fields.String(dump_only=True)
    target = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "partner id or mini-program platform"})
    status = fields.String(dump_only=True)
    attempts = fields.Integer(dump_only=True)
    sends = fields.Integer(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    next_attempt_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class FailedDeliveriesSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema), dump_only=True)
    total = fields.Integer(dump_only=True)
    page = fields.Integer(dump_only=True)
    page_size = fields.Integer(dump_only=True)


class WebhookReplaySchema(Strict):
    since = fields.AwareDateTime(required=True, metadata={
        "description": "ISO-8601 with a zone; events created at or after it are sent again"})


class WebhookReplayResultSchema(Schema):
    queued = fields.Integer(dump_only=True)
    more = fields.Boolean(dump_only=True, metadata={
        "description": "more remain: replay again from `until`"})
    until = fields.DateTime(dump_only=True, allow_none=True)
