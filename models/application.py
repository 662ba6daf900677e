"""An application (办件): one citizen's request for one bundle, with its tasks, timeline and outbox.

The aggregate changes together, so it lives together: one conditional update moves a task, appends
its timeline events and queues the notification intents the change causes, atomically.
"""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument


class ApplicationStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    NEEDS_SUPPLEMENT = "needs_supplement"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class TaskStatus(StrEnum):
    WAITING = "waiting"
    PENDING = "pending"
    CLAIMED = "claimed"
    NEEDS_SUPPLEMENT = "needs_supplement"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES = (TaskStatus.WAITING, TaskStatus.PENDING, TaskStatus.CLAIMED,
                      TaskStatus.NEEDS_SUPPLEMENT)


class Task(me.EmbeddedDocument):
    id = me.StringField(required=True)  # uuid4 hex, unique across applications
    matter = me.StringField(required=True)
    department = me.StringField(required=True)
    status = me.StringField(required=True, choices=[s.value for s in TaskStatus])
    depends_on = me.ListField(me.StringField())  # matter codes
    material_types = me.ListField(me.StringField())  # what the matter requires
    inputs = me.DictField()  # outputs of upstream tasks this matter needs
    outputs = me.DictField()
    claimed_by = me.StringField()
    claimed_at = me.DateTimeField()
    released_at = me.DateTimeField()  # when it became pending
    completed_at = me.DateTimeField()
    due_at = me.DateTimeField()
    paused_at = me.DateTimeField()  # the clock stops while a supplement is awaited
    overdue = me.BooleanField(default=False)
    reason = me.StringField()  # for the citizen: why rejected / what to supplement
    note = me.StringField()  # internal, never shown to the citizen


class Application(TimestampedDocument):
    applicant = me.StringField(required=True)  # user id of the citizen who owns it
    subject = me.DictField()  # {"kind": "self"|"family", "id", "relation", "name"}
    bundle = me.StringField(required=True)
    bundle_version = me.IntField(required=True)
    form = me.DictField()
    materials = me.ListField(me.StringField())  # material ids from the applicant's vault
    status = me.StringField(required=True, choices=[s.value for s in ApplicationStatus],
                            default=ApplicationStatus.IN_PROGRESS.value)
    tasks = me.EmbeddedDocumentListField(Task)
    # Timeline, oldest first: {"id", "type", "at", "actor_role", "department", "task", "matter",
    # "data"}. Officers' names and internal notes never go here.
    events = me.ListField(me.DictField())
    # Notification intents written with the change that caused them (see notifications/):
    # {"id", "type", "at", "recipient", "application", "bundle", "task", "matter", "department",
    #  "data"}. The relay moves them to the notifications collection and pulls them from here.
    outbox = me.ListField(me.DictField())
    outbox_pending = me.BooleanField(default=False)
    channel = me.StringField(default="app")  # app | station | assistant | miniprogram
    station = me.StringField()
    eta = me.DateTimeField()
    version = me.IntField(default=1)
    meta = {
        "collection": "applications",
        "ordering": ["-created_at"],
        "indexes": [
            ("applicant", "-created_at"),
            "subject.id",
            ("tasks.department", "tasks.status"),
            "tasks.id",
            {"fields": ["outbox_pending"], "sparse": False},
        ],
    }

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)
