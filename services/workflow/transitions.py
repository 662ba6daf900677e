"""Transitions: every change of an application is one conditional write with its events."""
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from models import indexed_writes
from models.application import (
    FINISHED_APPLICATION_STATUSES,
    FOLLOW_UPS_ON_FINISH,
    OPEN_APPLICATION_STATUSES,
    Application,
    ApplicationStatus,
    TaskStatus,
    with_queue_key,
)
from models.base import utcnow
from services.errors import DomainError, InvalidState
from services.workflow import applications

# A write guarded by the version it read loses only to another write that just happened; it
# reads again and retries. Many officers on one application settle within a few rounds.
MAX_ATTEMPTS = 60



definition_of = applications.definition_of
step_of = applications.step_of
reveal = applications.reveal
user_id_of = applications.user_id_of


def plain_tasks(application: Application) -> list[dict]:
    return [t.to_mongo().to_dict() for t in application.tasks]


def matter_list(codes: Iterable[str]) -> str:
    return ", ".join(codes)


def application_status(current: str, tasks: Iterable[dict]) -> str:
    """The application's status follows from its tasks (withdrawn and rejected stay so)."""
    tasks = list(tasks)
    statuses = [t["status"] for t in tasks]
    if current in (ApplicationStatus.WITHDRAWN, ApplicationStatus.REJECTED):
        return current
    if TaskStatus.REJECTED in statuses:
        return ApplicationStatus.REJECTED.value
    if tasks and all(s in (TaskStatus.COMPLETED, TaskStatus.CANCELLED) for s in statuses):
        return ApplicationStatus.COMPLETED.value
    if TaskStatus.NEEDS_SUPPLEMENT in statuses:
        return ApplicationStatus.NEEDS_SUPPLEMENT.value
    return ApplicationStatus.IN_PROGRESS.value


def consolidated_supplement(current: dict | None, tasks: Iterable[dict],
                            now: datetime) -> dict:
    """Every open request of the application as the ONE request the citizen answers."""
    asking = [t for t in tasks
              if t["status"] == TaskStatus.NEEDS_SUPPLEMENT and t.get("supplement")]
    if not asking:
        return {}
    current = current or {}
    return {
        "id": current.get("id") or uuid.uuid4().hex,
        "requested_at": current.get("requested_at") or now,
        "materials": sorted({m for t in asking for m in t["supplement"].get("materials") or []}),
        "fields": sorted({f for t in asking for f in t["supplement"].get("fields") or []}),
        "reasons": [{"task": t["id"], "matter": t["matter"], "department": t["department"],
                     "reason": t["supplement"].get("reason")} for t in asking],
        "tasks": [t["id"] for t in asking],
    }



@dataclass
class Change:
    """What a transition writes: task fields, application fields, pushes, events and intents."""

    tasks: list[dict]  # the application's tasks as they must be after the change
    set: dict = field(default_factory=dict)
    push: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    intents: list = field(default_factory=list)


OPEN_STATUSES = {str(s.value) for s in OPEN_APPLICATION_STATUSES}


def _task_sets(before: list[dict], after: list[dict]) -> tuple[dict, list[dict]]:
    """`$set`s and array filters for the fields that changed, task by task (never positional)."""
    sets: dict = {}
    filters: list[dict] = []
    old = {t["id"]: t for t in before}
    for task in after:
        previous = old.get(task["id"], {})
        changed = {k: v for k, v in task.items() if previous.get(k) != v}
        changed.update({k: None for k in previous if k not in task})
        if not changed:
            continue
        name = f"t{len(filters)}"
        filters.append({f"{name}.id": task["id"]})
        sets.update({f"tasks.$[{name}].{k}": v for k, v in changed.items()})
    return sets, filters


def _commit(application: Application, change: Change, now: datetime) -> Application | None:
    """Write the change if nobody changed the application since it was read, else None."""
    # A task whose status (or place) changes changes queue; an application stored before the
    # key existed gets every task's key with its first change.
    for task in change.tasks:
        with_queue_key(task)
    sets, filters = _task_sets(plain_tasks(application), change.tasks)
    sets.update(change.set)
    sets["updated_at"] = now
    push = {k: {"$each": v} for k, v in change.push.items() if v}
    if change.events:
        push["events"] = {"$each": change.events}
    if change.intents:
        push["outbox"] = {"$each": change.intents}
        sets["outbox_pending"] = True
    update: dict = {"$set": sets, "$inc": {"version": 1}}
    if sets.get("status") not in (None, *OPEN_STATUSES):
        update["$unset"] = {"open_key": ""}  # it ended: the next application may be made
    if push:
        update["$push"] = push
    if (change.set.get("status") in FINISHED_APPLICATION_STATUSES
            and application.status not in FINISHED_APPLICATION_STATUSES):
        # The service loop's follow-ups of a finished application (rating invitation, reform
        # figures) are queued by the write that finishes it: no command of their own.
        update["$addToSet"] = {"follow_ups": {"$each": list(FOLLOW_UPS_ON_FINISH)}}
    # update_one, not findAndModify: the embedded server scans the whole collection for the
    # latter (see models/indexed_writes.py). The version guard makes the answer exact: the
    # write lands only on the state that was read (every write that changes what a rule reads
    # raises the version), so that state plus this change is the document as written. The guard
    # is inside the update, the filter is the `_id` alone: see indexed_writes.guarded.
    written = Application._get_collection().update_one(
        {"_id": application.pk},
        indexed_writes.guarded(update, {"$eq": ["$version", application.version]},
                               array_filters=filters))
    if not written.modified_count:
        return None
    return _as_written(application, change, update, now)


def _as_written(application: Application, change: Change, update: dict,
                now: datetime) -> Application:
    """The application after `update` landed on the state read. A list the loader left out
    (the outbox, an officer's events) holds only what this change added to it."""
    son = application.to_mongo().to_dict()
    for path, value in update["$set"].items():
        if not path.startswith("tasks.$["):  # the tasks are taken whole from the change
            _set_path(son, path, value)
    son["tasks"] = change.tasks
    son["version"] = application.version + 1
    son["updated_at"] = now
    for name in update.get("$unset", {}):
        son.pop(name, None)
    for name, each in update.get("$push", {}).items():
        son[name] = [*(son.get(name) or []), *each["$each"]]
    for name, each in update.get("$addToSet", {}).items():
        have = list(son.get(name) or [])
        son[name] = have + [v for v in each["$each"] if v not in have]
    return Application._from_son(indexed_writes.as_stored(Application._get_collection(), son))


def _set_path(son: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for name in parents:
        son = son.setdefault(name, {})
    son[last] = value


def transition(load: Callable[[], Application],
               decide: Callable[[Application, datetime], Change | None], *,
               recent: Application | None = None) -> tuple[Application, Change | None]:
    """Read, decide, write guarded by the version read; on a lost race read again and retry.

    `decide` checks the rules against what it reads (raising a DomainError to refuse), so a
    retry after a concurrent change refuses exactly as a later request would. It returns None
    when what the request asks for is already so (a retried request whose first attempt landed,
    its answer lost): the application is answered as read, and nothing is written twice.

    `recent` is a copy this process read or wrote a moment ago (services.workflow.recent): the
    first write is tried on it, and its version guard proves it is still the stored state. Only
    a write that lands is trusted to it; a refusal, a nothing-to-do or a lost guard on it is
    decided again on a fresh read.
    """
    if recent is not None:
        now = utcnow()
        try:
            change = decide(recent, now)
        except DomainError:
            change = None
        written = _commit(recent, change, now) if change is not None else None
        if written is not None:
            return written, change
    for attempt in range(MAX_ATTEMPTS):
        application = load()
        now = utcnow()
        change = decide(application, now)
        if change is None:
            return application, None
        written = _commit(application, change, now)
        if written is not None:
            return written, change
        time.sleep(random.random() * 0.002 * min(attempt + 1, 10))  # noqa: S311 (jitter)  # nosec B311
    raise InvalidState("The application is changing right now; try again.",
                       "该办件正在被处理，请稍后重试。", error="concurrent_update",
                       headers={"Retry-After": "1"})
