"""Ratings (好差评) of finished tasks and applications, and the rectification a low one opens."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument

# What a rating is about when it is about the whole application rather than one task.
WHOLE_APPLICATION = "application"
# A rating at or below this score opens a rectification case (2 不满意, 1 非常不满意).
RECTIFY_AT_OR_BELOW = 2


class RectificationStatus(StrEnum):
    OPEN = "open"
    REPLIED = "replied"
    RESOLVED = "resolved"


class Rectification(me.EmbeddedDocument):
    """The case a low rating opens for the department that did the work, in its region."""

    id = me.StringField(required=True)  # uuid4 hex
    status = me.StringField(required=True, choices=[s.value for s in RectificationStatus])
    department = me.StringField(required=True)
    region = me.StringField(required=True)
    due_at = me.DateTimeField(required=True)
    overdue = me.BooleanField(default=False)
    reply = me.DictField()  # {"text", "at", "by"}: "by" (an officer id) is never shown
    resolution = me.DictField()  # {"text", "at", "by"}
    opened_at = me.DateTimeField()


class Rating(TimestampedDocument):
    application = me.StringField(required=True)
    applicant = me.StringField(required=True)  # the citizen who rated (the applicant)
    bundle = me.StringField(required=True)
    target = me.StringField(required=True)  # a task id, or WHOLE_APPLICATION
    task = me.StringField()
    matter = me.StringField()
    department = me.StringField()
    region = me.StringField(required=True)
    round = me.IntField(required=True, min_value=1, max_value=2)  # 2: after a rectification
    replaces = me.StringField()  # the first round's rating id, for round 2
    score = me.IntField(required=True, min_value=1, max_value=5)
    tags = me.ListField(me.StringField())
    comment_encrypted = me.StringField()  # free text may hold personal data: kept encrypted
    rectification = me.EmbeddedDocumentField(Rectification)
    # Notification intents written with the change that caused them (a reply, a resolution),
    # forwarded into the application's outbox for the notifications relay, then taken out.
    outbox = me.ListField(me.DictField())
    # False until the rating is added to the public figures (then True, once).
    counted = me.BooleanField(default=False)
    meta = {
        "collection": "ratings",
        "ordering": ["created_at"],
        "indexes": [
            {"fields": ["application", "target", "round"], "unique": True},
            "applicant",
            {"fields": ["rectification.id"], "unique": True, "sparse": True},
            {"fields": ["rectification.department", "rectification.region",
                        "rectification.status", "rectification.due_at"], "sparse": True},
            {"fields": ["rectification.due_at"], "sparse": True},
            # The recently resolved cases (services.ratings.rectifications): partial, so only
            # resolved ones have a key.
            {"fields": ["rectification.department", "rectification.region",
                        "rectification.status", "rectification.resolution.at"],
             "name": "resolved_latest",
             "partialFilterExpression": {
                 "rectification.status": RectificationStatus.RESOLVED.value}},
            {"fields": ["outbox.id"], "sparse": True},
            {"fields": ["counted", "created_at"],
             "partialFilterExpression": {"counted": False}},
        ],
    }
