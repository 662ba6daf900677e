"""An application (办件): one citizen's request for one bundle, with its tasks, timeline and outbox.

The aggregate changes together, so it lives together: one conditional update moves a task, appends
its timeline events and queues the notification intents the change causes, atomically.
"""
from datetime import UTC, date
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


class FollowUp(StrEnum):
    """Work the service loop owes an application, queued in the write that caused it (so it
    costs no command of its own) and taken off by the sweep of the domain that does it."""

    FIGURES_SUBMITTED = "figures:submitted"  # count it in the reform figures' applications
    FIGURES_FINISHED = "figures:finished"  # count its completion, savings, supplements
    RATING_INVITATION = "ratings:invitation"  # ask the citizen to rate it


# An application is finished (for ratings and figures) once it is completed or rejected.
FINISHED_APPLICATION_STATUSES = (ApplicationStatus.COMPLETED.value,
                                 ApplicationStatus.REJECTED.value)
FOLLOW_UPS_ON_FINISH = (FollowUp.FIGURES_FINISHED.value, FollowUp.RATING_INVITATION.value)

OPEN_TASK_STATUSES = (TaskStatus.WAITING, TaskStatus.PENDING, TaskStatus.CLAIMED,
                      TaskStatus.NEEDS_SUPPLEMENT)
# A task in one of these is done with for good; its queue key names the day it finished.
FINISHED_TASK_STATUSES = (TaskStatus.COMPLETED, TaskStatus.REJECTED, TaskStatus.CANCELLED)
OPEN_APPLICATION_STATUSES = (ApplicationStatus.IN_PROGRESS, ApplicationStatus.NEEDS_SUPPLEMENT)


def queue_key(department: str | None, region: str | None, status: str | None,
              finished_on: date | None = None) -> str:
    """The officers' queue a task is in, as one value: "department|region|status", and for a
    finished task the day it finished (UTC): "health|330381|completed|2026-12-07".

    One key per task: a compound index over the tasks' department, region and status stores
    every combination of the three across the application's tasks (their product), and the
    embedded server rewrites every key of every index on each update of the application. The
    day keeps what the workbench reads of finished tasks (its last days) from growing with
    every task ever finished in the department."""
    key = f"{department or ''}|{region or ''}|{status or ''}"
    if status in FINISHED_TASK_STATUSES:
        key += f"|{finished_on.isoformat() if finished_on else ''}"
    return key


def finished_on(task) -> date | None:
    """The day (UTC) a finished task finished: completed or rejected (completed_at), cancelled
    (cancelled_at); None for another task, or one stored without its time."""
    at = _field(task, "cancelled_at") if _field(task, "status") == TaskStatus.CANCELLED \
        else _field(task, "completed_at")
    if at is None:
        return None
    return (at.astimezone(UTC) if at.tzinfo else at).date()


def with_queue_key(task: dict) -> dict:
    """The task (a stored dict) with the queue key of its department, region and status."""
    task["queue"] = queue_key(task.get("department"), task.get("region"), task.get("status"),
                              finished_on(task))
    return task


def _field(task, name: str):
    return task.get(name) if isinstance(task, dict) else getattr(task, name, None)


class Task(me.EmbeddedDocument):
    id = me.StringField(required=True)  # uuid4 hex, unique across applications
    matter = me.StringField(required=True)
    name = me.DictField()  # the matter's name, {"zh-CN", "en"}, as the bundle version had it
    department = me.StringField(required=True)
    department_name = me.DictField()
    # The region whose department works it: the application's region at the matter's level
    # (Ruian's police for a county-level matter of a Ruian application, Wenzhou's for a
    # city-level one). Officers see only tasks of their own department and region.
    region = me.StringField()
    promised = me.DictField()  # the promised limit in that region: {"value", "unit"}
    window = me.DictField()  # that region's service window: {"address", "hours", "phone"}
    status = me.StringField(required=True, choices=[s.value for s in TaskStatus])
    depends_on = me.ListField(me.StringField())  # matter codes
    material_types = me.ListField(me.StringField())  # what the matter requires
    needs = me.ListField(me.StringField())  # output names it needs from upstream matters
    inputs = me.DictField()  # outputs of upstream tasks this matter needs
    outputs = me.DictField()
    claimed_by = me.StringField()  # officer's user id, never shown to the citizen
    claimed_at = me.DateTimeField()
    released_at = me.DateTimeField()  # when it became pending
    completed_at = me.DateTimeField()  # completed, or rejected
    cancelled_at = me.DateTimeField()
    due_at = me.DateTimeField()
    paused_at = me.DateTimeField()  # the clock stops while a supplement is awaited
    overdue = me.BooleanField(default=False)
    reason = me.StringField()  # for the citizen: why rejected / what to supplement
    note = me.StringField()  # internal, never shown to the citizen
    # The open supplement request of this task: {"materials", "fields", "reason", "at"}.
    supplement = me.DictField()
    elicences = me.ListField(me.StringField())  # material ids of the e-licences it issued
    # queue_key(department, region, status[, day finished]), what the queues select on: set by
    # every write of the task (this clean() on insert, transitions on update, backfills on the
    # rest).
    queue = me.StringField()

    def clean(self):
        self.queue = queue_key(self.department, self.region, self.status, finished_on(self))


class Application(TimestampedDocument):
    applicant = me.StringField(required=True)  # user id of the citizen who owns it
    # {"kind": "self"|"family", "id", "relation", "name"}: id is the user id for "self", the
    # family member's id otherwise.
    subject = me.DictField()
    bundle = me.StringField(required=True)
    bundle_version = me.IntField(required=True)
    bundle_name = me.DictField()
    region = me.StringField()  # where it is made (GB/T 2260): the citizen's, or as asked
    form = me.DictField()  # the joint form's answers, personal data excepted (see below)
    # Answers that are personal data (ID numbers, phone numbers), encrypted: {field: token}.
    form_protected = me.DictField()
    materials = me.ListField(me.StringField())  # material ids from the applicant's vault
    material_types = me.DictField()  # material id → material type code
    status = me.StringField(required=True, choices=[s.value for s in ApplicationStatus],
                            default=ApplicationStatus.IN_PROGRESS.value)
    tasks = me.EmbeddedDocumentListField(Task)
    # Timeline, oldest first: {"id", "type", "at", "actor_role", "actor", "department", "task",
    # "matter", "data"}. "actor" (a user id) is kept for audit and never shown to the citizen;
    # officers' names and internal notes never go here.
    events = me.ListField(me.DictField())
    # Notification intents written with the change that caused them (see notifications/):
    # {"id", "type", "at", "recipient", "application", "bundle", "task", "matter", "department",
    #  "data"}. The relay moves them to the notifications collection and pulls them from here.
    outbox = me.ListField(me.DictField())
    outbox_pending = me.BooleanField(default=False)
    # The one consolidated supplement request the citizen sees while tasks await a supplement:
    # {"id", "materials", "fields", "reasons": [{"task", "matter", "department", "reason"}],
    #  "tasks", "requested_at"}; empty when none is open.
    supplement = me.DictField()
    channel = me.StringField(default="app")  # app | station | assistant | miniprogram
    station = me.StringField()
    clerk = me.StringField()  # the station clerk's user id for assisted applications
    # "<caller id>:<Idempotency-Key>": the database refuses a second application for one key,
    # so the application is the record of its key: a retry with the same body (fingerprint)
    # replays `first_response`, the answer its first request got; another body is refused.
    idempotency_key = me.StringField()
    request_fingerprint = me.StringField()
    first_response = me.DictField()
    open_key = me.StringField()  # "<bundle>:<subject id>" while the application is open
    reason = me.StringField()  # why it was rejected, for the citizen
    completed_at = me.DateTimeField()
    eta = me.DateTimeField()
    version = me.IntField(default=1)
    # The service loop's follow-ups (FollowUp values) still to do, and the figures roll-ups
    # that took them ({"id", "tags", "at"}: at most two, submitted and finished).
    follow_ups = me.ListField(me.StringField())
    figures_batches = me.ListField(me.DictField())
    meta = {
        "collection": "applications",
        "ordering": ["-created_at"],
        "indexes": [
            ("applicant", "-created_at"),
            "subject.id",
            # The officer's queue: their department, their region, a status (the fence is in
            # the same query, never an extra round trip), as one key per task (Task.queue).
            "tasks.queue",
            "tasks.id",
            "tasks.due_at",  # the overdue sweep
            "tasks.completed_at",  # typical handling times for the ETA: recent completions
            "materials",  # may an officer read this material? (an e-licence: by its application)
            # The relay's pending outboxes: partial, so only the few applications whose outbox
            # waits have a key (the server rewrites every key of every index on each update).
            {"fields": ["outbox_pending"], "name": "outbox_pending_true",
             "partialFilterExpression": {"outbox_pending": True}},
            {"fields": ["follow_ups"], "sparse": True},
            # Partial on `$gt: ""` (every key is a non-empty string), not `$type`: the server
            # proves an equality query implies a range, never a `$type`, so with `$type` the
            # replay's lookup by key read every application.
            {"fields": ["idempotency_key"], "unique": True,
             "partialFilterExpression": {"idempotency_key": {"$gt": ""}}},
            # One open application per bundle and subject: set while open, unset when it ends.
            {"fields": ["open_key"], "unique": True,
             "partialFilterExpression": {"open_key": {"$gt": ""}}},
        ],
        # Indexes no query needs any more, dropped where an older version built them
        # (models.connection.ensure_indexes): the e-licences are found by the application they
        # name, a figures batch keeps the ids it took, the outboxes' flag has its partial index,
        # the queue's compound index (the product of its fields' values) is one key per task.
        "retired_indexes": ["tasks.elicences_1", "figures_batches.id_1", "outbox_pending_1",
                            "tasks.department_1_tasks.region_1_tasks.status_1"],
    }

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def task_for(self, matter: str) -> Task | None:
        return next((t for t in self.tasks if t.matter == matter), None)
