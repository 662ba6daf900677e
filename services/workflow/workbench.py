"""The officer's workbench: their department's queue and what they may see of one task.

Finished tasks (completed, rejected, cancelled) are those of the last WORKBENCH_FINISHED_DAYS:
their queue keys name the day they finished, so the workbench reads a few days' keys, never
every task the department ever finished."""
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context

from common import i18n
from config import Config
from models.application import FINISHED_TASK_STATUSES, Application, TaskStatus, queue_key
from services.errors import NotFound
from services.workflow import applications, recent

# The queue an officer works when they ask for no status: what is theirs to act on.
QUEUE_STATUSES = (TaskStatus.PENDING, TaskStatus.CLAIMED, TaskStatus.NEEDS_SUPPLEMENT)
# Tasks without a due time (waiting ones) sort after every dated one.
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def finished_since(now: datetime | None = None) -> datetime:
    """The earliest finish of a finished task the workbench shows."""
    settings = current_app.config if has_app_context() else vars(Config)
    return (now or datetime.now(UTC)) - timedelta(days=settings["WORKBENCH_FINISHED_DAYS"])


def _in_queues(officer, statuses, since: datetime) -> dict:
    """The first stage's filter: the officer's queues of these statuses (a finished status's:
    one for each day since `since`), by the queue's index alone (`$elemMatch`, or any other
    field beside it, makes the server scan every application)."""
    fence = applications.officer_fence(officer)
    first = since.astimezone(UTC).date()
    days = [first + timedelta(days=n) for n in range((datetime.now(UTC).date() - first).days + 1)]
    keys = []
    for status in map(str, statuses):
        keys += ([queue_key(fence["department"], fence["region"], status, day) for day in days]
                 if status in FINISHED_TASK_STATUSES
                 else [queue_key(fence["department"], fence["region"], status)])
    return {"tasks.queue": {"$in": keys}}


def _recent_enough(since: datetime) -> dict:
    """After the unwind: a task still open, or finished since `since` (the days' keys are whole
    days; this is the exact cut)."""
    return {"$or": [{"tasks.status": {"$nin": [str(s) for s in FINISHED_TASK_STATUSES]}},
                    {"tasks.completed_at": {"$gte": since}},
                    {"tasks.cancelled_at": {"$gte": since}}]}


def _task_condition(officer, *, status=None, overdue=None, mine=None) -> dict:
    condition: dict = applications.officer_fence(officer)
    condition["status"] = {"$in": [str(status)] if status else [s.value for s in QUEUE_STATUSES]}
    if overdue is not None:
        condition["overdue"] = True if overdue else {"$ne": True}
    if mine:
        condition["claimed_by"] = str(officer.id)
    return condition


def list_tasks(*, officer, status: str | None = None, bundle: str | None = None,
               overdue: bool | None = None, mine: bool | None = None, page: int = 1,
               page_size: int = 20) -> tuple[list[dict], int]:
    """One page of the department's tasks in the officer's region, most urgent first, and how
    many there are in all."""
    if not officer.department:
        return [], 0
    condition = _task_condition(officer, status=status, overdue=overdue, mine=mine)
    since = finished_since()
    # The first stage finds the applications with a task in the queues; the match after
    # `$unwind` keeps only the tasks that meet every condition themselves, by their own fields.
    pipeline = [
        {"$match": _in_queues(officer, condition["status"]["$in"], since)},
        {"$project": {"bundle": 1, "bundle_name": 1, "bundle_version": 1, "status": 1,
                      "region": 1, "channel": 1, "station": 1, "created_at": 1, "tasks": 1}},
        {"$unwind": "$tasks"},
        {"$match": {**{f"tasks.{k}": v for k, v in condition.items()},
                    **({"bundle": bundle} if bundle else {}), **_recent_enough(since)}},
        {"$addFields": {"due_time": {"$ifNull": ["$tasks.due_at", LATEST]}}},
        {"$sort": {"due_time": 1, "tasks.released_at": 1, "created_at": 1, "tasks.id": 1}},
        {"$facet": {"items": [{"$skip": (page - 1) * page_size}, {"$limit": page_size}],
                    "total": [{"$count": "n"}]}},
    ]
    result = next(Application._get_collection().aggregate(pipeline), {"items": [], "total": []})
    total = result["total"][0]["n"] if result["total"] else 0
    return [_queue_item(row, officer) for row in result["items"]], total


COUNTED_STATUSES = (*QUEUE_STATUSES, TaskStatus.COMPLETED, TaskStatus.REJECTED)


def task_counts(*, officer, bundle: str | None = None) -> dict:
    """How many of the department's tasks in the officer's region are in each status (the
    finished ones: of the last WORKBENCH_FINISHED_DAYS, from `finished_since`), how many are open
    (what the queue lists by default) and how many of those are overdue: one read."""
    by_status = {str(s): 0 for s in COUNTED_STATUSES}
    since = finished_since()
    counts = {"open": 0, "overdue": 0, "by_status": by_status, "finished_since": since}
    if not officer.department:
        return counts
    condition = applications.officer_fence(officer)
    condition["status"] = {"$in": list(by_status)}
    # As the queue's: the first stage on the queue's index alone, each task checked after the
    # unwind.
    pipeline = [
        {"$match": _in_queues(officer, by_status, since)},
        {"$project": {"bundle": 1, "tasks.department": 1, "tasks.region": 1,
                      "tasks.status": 1, "tasks.overdue": 1, "tasks.completed_at": 1}},
        {"$unwind": "$tasks"},
        {"$match": {**{f"tasks.{k}": v for k, v in condition.items()},
                    **({"bundle": bundle} if bundle else {}), **_recent_enough(since)}},
        {"$group": {"_id": {"status": "$tasks.status",
                            "overdue": {"$eq": ["$tasks.overdue", True]}}, "n": {"$sum": 1}}},
    ]
    open_statuses = {str(s) for s in QUEUE_STATUSES}
    for row in Application._get_collection().aggregate(pipeline):
        status, n = row["_id"]["status"], row["n"]
        by_status[status] += n
        if status in open_statuses:
            counts["open"] += n
            if row["_id"]["overdue"]:
                counts["overdue"] += n
    return counts


def _queue_item(row: dict, officer) -> dict:
    task = row["tasks"]
    return {
        "id": task["id"], "matter": task["matter"],
        "name": i18n.pick(task.get("name")) or task["matter"],
        "department": task["department"], "region": task.get("region"),
        "status": task["status"],
        "depends_on": task.get("depends_on") or [], "due_at": task.get("due_at"),
        "overdue": bool(task.get("overdue")), "released_at": task.get("released_at"),
        "claimed_at": task.get("claimed_at"),
        "claimed_by_me": task.get("claimed_by") == str(officer.id),
        "application": {
            "id": str(row["_id"]), "bundle": row["bundle"], "region": row.get("region"),
            "bundle_name": i18n.pick(row.get("bundle_name")) or row["bundle"],
            "status": row["status"], "channel": row.get("channel"),
            "station": row.get("station"), "created_at": row.get("created_at")},
    }


def get_task(*, task_id: str, officer) -> Application:
    """The application holding one of the department's tasks in the officer's region; any other
    task (another department's, another region's) is not found."""
    application = applications.officer_task(task_id, officer, *recent.EXCLUDED)
    if application is None:
        raise NotFound("No such task.", "未找到该任务。", error="task_not_found")
    recent.keep(application)  # the officer's next step (claim, complete) may start from it
    return application


def task_view(application: Application, task_id: str, officer) -> dict:
    """One task with what its officer may see: the answers and materials its matter uses, the
    inputs it was handed, its outputs; personal data in clear, as the matter needs it."""
    task = application.task(str(task_id))
    definition = applications.definition_of(application.bundle, application.bundle_version)
    step = applications.step_of(definition, task.matter)
    used = [f["name"] for f in definition["form"] if task.matter in (f.get("matters") or [])]
    labels = {f["name"]: i18n.pick(f.get("labels")) or f["name"] for f in definition["form"]}
    subject = application.subject or {}
    return {
        "id": task.id, "matter": task.matter, "name": i18n.pick(task.name) or task.matter,
        "department": task.department, "region": task.region, "status": task.status,
        "depends_on": list(task.depends_on or []),
        "waiting_for": [t.matter for t in application.tasks if t.matter in task.depends_on
                        and t.status != TaskStatus.COMPLETED],
        "inputs": {k: applications.reveal(v) for k, v in (task.inputs or {}).items()},
        "outputs": {k: applications.reveal(v) for k, v in (task.outputs or {}).items()},
        "output_definitions": [{"name": o["name"], "label": i18n.pick(o.get("labels"))
                                or o["name"], "type": o.get("type"), "pattern": o.get("pattern"),
                                "required": o.get("required", True)}
                               for o in step.get("outputs") or []],
        "due_at": task.due_at, "overdue": bool(task.overdue), "released_at": task.released_at,
        "claimed_at": task.claimed_at, "claimed_by_me": task.claimed_by == str(officer.id),
        "completed_at": task.completed_at, "paused_at": task.paused_at,
        "reason": task.reason, "note": task.note,
        "supplement": dict(task.supplement) if task.supplement else None,
        "application": {
            "id": str(application.id), "bundle": application.bundle,
            "bundle_name": i18n.pick(application.bundle_name) or application.bundle,
            "bundle_version": application.bundle_version, "status": application.status,
            "region": application.region,
            "channel": application.channel, "station": application.station,
            "created_at": application.created_at,
            "subject": {"kind": subject.get("kind"), "relation": subject.get("relation"),
                        "name": applications.subject_name(application)},
            "form": applications.form_view(application, definition, names=used,
                                           reveal_personal=True),
            "form_labels": {name: labels[name] for name in used},
            "materials": [{"id": mid, "type": mtype}
                          for mid, mtype in (application.material_types or {}).items()
                          if mtype in (task.material_types or [])],
        },
    }
