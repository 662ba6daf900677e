"""What each citizen wants to hear and how: channels, quiet hours, mini-program subscriptions."""
import mongoengine as me

from models.base import TimestampedDocument


class QuietHours(me.EmbeddedDocument):
    start = me.StringField(required=True, regex=r"^([01]\d|2[0-3]):[0-5]\d$")  # "22:00", local
    end = me.StringField(required=True, regex=r"^([01]\d|2[0-3]):[0-5]\d$")  # "07:00", local


class MiniProgramSubscription(me.EmbeddedDocument):
    """A template the citizen accepted in a mini-program: each acceptance allows one message.

    The platforms cannot be asked how many sends are left, so the server counts them.
    """

    platform = me.StringField(required=True, choices=["wechat", "alipay"])
    template = me.StringField(required=True)  # the platform's template id
    remaining = me.IntField(default=0, min_value=0)
    updated_at = me.DateTimeField()


class NotificationPreferences(TimestampedDocument):
    user = me.StringField(required=True, unique=True)
    push = me.BooleanField(default=True)
    miniprogram = me.BooleanField(default=True)
    sms = me.BooleanField(default=True)
    quiet_hours = me.EmbeddedDocumentField(QuietHours)
    timezone = me.StringField()  # IANA name; unset: NOTIFICATION_TIMEZONE
    subscriptions = me.EmbeddedDocumentListField(MiniProgramSubscription)
    meta = {"collection": "notification_preferences"}
