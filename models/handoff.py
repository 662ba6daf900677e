"""A citizen's request, made in conversation, to be helped by a member of staff."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument


class HandoffStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Handoff(TimestampedDocument):
    conversation = me.StringField(required=True)
    citizen = me.StringField(required=True)  # user id
    status = me.StringField(default=HandoffStatus.OPEN.value,
                            choices=[s.value for s in HandoffStatus])
    bundle = me.StringField()  # what the conversation was about, if known
    # Departments of that bundle: their officers see the handoff; none means every officer.
    departments = me.ListField(me.StringField())
    # Where the citizen lives (else the default region): those departments' officers there.
    region = me.StringField()
    locale = me.StringField(default="zh-CN")
    reason = me.StringField()  # the citizen's words, personal numbers masked
    application = me.StringField()  # the rejected application it is about, if that was why
    claimed_by = me.StringField()
    claimed_at = me.DateTimeField()
    closed_at = me.DateTimeField()
    closed_by = me.StringField()
    meta = {
        "collection": "handoffs",
        "ordering": ["-created_at"],
        "indexes": [("status", "-created_at"), "conversation", ("departments", "region"),
                    "application",
                    # An officer's list: a status and their region, equal, then their departments
                    # (`$in`): the server walks a compound index only for equalities followed by
                    # one operator; without it the list read every handoff of the department
                    # ever (950 ms of its CPU at 10,000).
                    ("status", "region", "departments"),
                    # The recently closed (services.desk.handoffs): partial, open ones have none.
                    {"fields": ["status", "closed_at"], "name": "closed_latest",
                     "partialFilterExpression": {"status": HandoffStatus.CLOSED.value}}],
    }
