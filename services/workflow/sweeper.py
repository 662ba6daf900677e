"""The overdue job: marks open tasks past their due time, once each, and alerts their department."""
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from models.application import Application, ApplicationStatus, TaskStatus
from services.identity import staff_accounts
from services.workflow import deadlines, events

log = logging.getLogger(__name__)

ON_THE_CLOCK = [TaskStatus.PENDING.value, TaskStatus.CLAIMED.value]


def _overdue_condition(now: datetime) -> dict:
    # A task waiting for a supplement is paused (paused_at set): its clock is not running.
    return {"status": {"$in": ON_THE_CLOCK}, "due_at": {"$lt": now}, "paused_at": None,
            "overdue": {"$ne": True}}


def _officers_of(department: str, region: str | None,
                 cache: dict[tuple, list[str]]) -> list[str]:
    if (department, region) not in cache:
        cache[(department, region)] = staff_accounts.department_officers(department, region)
    return cache[(department, region)]


def _mark(application: dict, task: dict, now: datetime, officers: list[str]) -> bool:
    """One conditional update: the flag, its timeline event and the alerts, or nothing at all."""
    due = task["due_at"]
    data = {"due_at": (due if due.tzinfo else due.replace(tzinfo=UTC)).isoformat()}
    event = events.event("task_overdue", at=now, actor_role="system", task=task, data=data)
    target = SimpleNamespace(id=application["_id"], bundle=application.get("bundle"))
    intents = [events.intent("task_overdue", at=now, application=target, recipient=officer,
                             task=task, data=data) for officer in officers]
    result = Application._get_collection().update_one(
        {"_id": application["_id"],
         "tasks": {"$elemMatch": {"id": task["id"], **_overdue_condition(now)}}},
        {"$set": {"tasks.$[t].overdue": True, "updated_at": now,
                  **({"outbox_pending": True} if intents else {})},
         "$push": {"events": event, "outbox": {"$each": intents}},
         "$inc": {"version": 1}},
        array_filters=[{"t.id": task["id"]}],
    )
    return result.modified_count == 1


def sweep(*, now: datetime | None = None, since: datetime | None = None) -> int:
    """Mark every open task whose due time has passed (with `since`, only those that fell due
    from then on); returns how many this call marked.

    Safe in any number of processes at once: each mark is conditional on the task not being
    marked yet, so one sweeper wins each task and the others skip it.
    """
    now = now or datetime.now(UTC)
    condition = _overdue_condition(now)
    due = {"$lt": now, **({"$gte": since} if since is not None else {})}
    candidates = Application._get_collection().find(
        # `tasks.due_at` first: the server plans on the first clause an index serves, and
        # `$elemMatch` has none. Independent tasks of a rejected application are still worked,
        # and on the clock.
        {"tasks.due_at": due,
         "status": {"$nin": [ApplicationStatus.WITHDRAWN.value,
                             ApplicationStatus.COMPLETED.value]},
         "tasks": {"$elemMatch": condition}},
        {"tasks": 1, "bundle": 1},
    ).batch_size(100)
    officers: dict[tuple, list[str]] = {}
    marked = 0
    for application in candidates:
        for task in application.get("tasks", []):
            if deadlines.is_overdue(task, now) and not task.get("overdue"):
                marked += _mark(application, task, now,
                                _officers_of(task["department"], task.get("region"), officers))
    if marked:
        log.info("marked %d overdue task(s)", marked)
    return marked


class Sweeper:
    """The sweep run again and again (`flask workflow sweep --every`): each run reads only the
    tasks that fell due since the previous run began (less a margin), not every task ever due
    (every finished application keeps its tasks' due times: reading them all each minute grew
    with history). It reads everything at its first run and every FULL_EVERY after, for what a
    window cannot see: a task resumed after a supplement already past its moved due time, a
    run that failed."""

    MARGIN = timedelta(minutes=10)  # clocks apart, a slow run, a commit late to be seen
    FULL_EVERY = timedelta(hours=1)

    def __init__(self) -> None:
        self.last_start: datetime | None = None
        self.last_full: datetime | None = None

    def run(self, *, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        full = (self.last_start is None or self.last_full is None
                or now - self.last_full >= self.FULL_EVERY)
        marked = sweep(now=now, since=None if full else self.last_start - self.MARGIN)
        # Only a run that finished moves the window on: one that raised is read again.
        self.last_start = now
        if full:
            self.last_full = now
        return marked
