"""Routing: which tasks a change releases, to which department, due when, expected when."""
import logging
from collections.abc import Iterable
from datetime import datetime

from pymongo.errors import PyMongoError

from common import crypto
from models.application import (
    Application,
    TaskStatus,
)
from services.catalogue import joint_form
from services.identity import staff_accounts
from services.workflow import deadlines, events
from services.workflow.transitions import step_of

log = logging.getLogger(__name__)


def due_time(start: datetime, promised: dict | None) -> datetime | None:
    return deadlines.due_at(start=start, limit=promised) if promised else None


def expected_completion(definition: dict, tasks: list[dict], now: datetime) -> datetime | None:
    try:
        return deadlines.estimate_eta(definition=definition, tasks=tasks, now=now)
    except PyMongoError:
        # The database is away: the action cannot be written either. Waiting for it a second
        # time would double the caller's wait for the same 503.
        raise
    except Exception:  # a prediction must never stop a department's action
        log.exception("could not estimate the completion time")
        return None


def store_output(kind: str | None, value):
    """Outputs that are personal data (the newborn's ID number) rest encrypted."""
    if kind in joint_form.PERSONAL_TYPES and value is not None:
        return {"encrypted": crypto.encrypt(str(value)), "type": kind}
    return value


def department_alerts(type_: str, application: Application, tasks: Iterable[dict],
                       now: datetime, data: dict) -> list[dict]:
    """Tell the departments whose queue a task leaves: its officer, or all of the department in
    the task's region."""
    intents = []
    for task in tasks:
        recipients = [task["claimed_by"]] if task.get("claimed_by") else (
            staff_accounts.department_officers(task["department"], task.get("region")))
        intents += [events.intent(type_, at=now, application=application, recipient=r, task=task,
                                  data=data) for r in recipients]
    return intents


def release_ready(tasks: list[dict], definition: dict, now: datetime) -> list[dict]:
    """Every waiting task whose dependencies are all complete becomes pending, with its inputs."""
    done = {t["matter"] for t in tasks if t["status"] == TaskStatus.COMPLETED}
    available: dict = {}
    for task in tasks:
        if task["status"] == TaskStatus.COMPLETED:
            available.update(task.get("outputs") or {})
    released = []
    for task in tasks:
        if task["status"] != TaskStatus.WAITING or not set(task.get("depends_on") or []) <= done:
            continue
        # The region's own promise, kept on the task when it was made (older tasks: the step's).
        promised = task.get("promised") or step_of(definition, task["matter"]).get("promised")
        task.update(status=TaskStatus.PENDING.value, released_at=now,
                    due_at=due_time(now, promised),
                    inputs={name: available[name] for name in task.get("needs") or []
                            if name in available})
        released.append(task)
    return released


def dependents(tasks: list[dict], matter: str) -> set[str]:
    """Every matter that depends on this one, directly or not."""
    found: set[str] = set()
    frontier = {matter}
    while frontier:
        frontier = {t["matter"] for t in tasks
                    if set(t.get("depends_on") or []) & frontier and t["matter"] not in found}
        found |= frontier
    return found
