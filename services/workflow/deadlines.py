"""Time limits: when a task is due, how a supplement pauses it, when an application finishes."""
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context

from common import calendar
from models.application import Application, TaskStatus
from services.workflow import handling_times

log = logging.getLogger(__name__)

CLOCK_UNITS = {"minutes": "minutes", "hours": "hours"}


def _field(obj: Any, name: str, default=None):
    """Read a field from a dict or a document alike (tasks and limits arrive as either)."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def due_at(*, start: datetime, limit: Mapping | Any) -> datetime:
    """A promised limit from a start: minutes and hours on the clock, working days on the calendar.

    `limit` is {"value", "unit"} (or a TimeLimit). Working days end at local midnight after the
    last one, counted from the working day after the start (see common.calendar).
    """
    value, unit = _field(limit, "value"), _field(limit, "unit")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a time limit needs a positive whole value, not {value!r}")
    start = _aware(start)
    if unit in CLOCK_UNITS:
        return (start + timedelta(**{CLOCK_UNITS[unit]: value})).astimezone(UTC)
    if unit == "working_days":
        return calendar.current().add_working_days(start, value)
    raise ValueError(f"unknown time limit unit {unit!r}")


def paused_due_at(*, due_at: datetime | None, paused_at: datetime,
                  resumed_at: datetime) -> datetime | None:
    """The due time moved on by exactly as long as the task waited for a supplement."""
    if due_at is None:
        return None
    waited = _aware(resumed_at) - _aware(paused_at)
    if waited < timedelta(0):
        raise ValueError("a task cannot resume before it was paused")
    return _aware(due_at) + waited


def is_overdue(task: Any, now: datetime) -> bool:
    """Open, on the clock (not paused for a supplement) and past its due time."""
    due = _aware(_field(task, "due_at"))
    return (due is not None and _field(task, "paused_at") is None
            and _field(task, "status") in (TaskStatus.PENDING, TaskStatus.CLAIMED)
            and due < now)


# Typical handling times -----------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "at": 0.0, "medians": {}}


def _settings() -> Mapping:
    return current_app.config if has_app_context() else {}


def typical_handling_times(*, now: datetime | None = None) -> dict:
    """Median handling times over recent completions, reused in-process for a while: by
    (matter, region) for each region's own history, by matter for the province's."""
    settings = _settings()
    ttl = float(settings.get("ETA_CACHE_SECONDS", 300))
    days = int(settings.get("ETA_HISTORY_DAYS", 90))
    key = (Application._get_db().name, days)
    with _cache_lock:
        fresh = _cache["key"] == key and time.monotonic() - _cache["at"] < ttl
        if fresh:
            return _cache["medians"]
    now = now or datetime.now(UTC)
    # What completed since any process last looked is added first (a few commands, whatever
    # the history); then the few stored medians are read. The history from before the first
    # roll-up is left to the service loop's sweep: a day of it is every application finished
    # that day (≈ 1,100 at 100,000 stored: 2.4 s), too long for an officer's completion to wait.
    handling_times.roll_up(now=now, days=days, backfill=False)
    medians = handling_times.medians(now=now, days=days)
    with _cache_lock:
        _cache.update(key=key, at=time.monotonic(), medians=medians)
    return medians


def clear_cache() -> None:
    """Forget the cached medians (tests; after importing history)."""
    with _cache_lock:
        _cache.update(key=None, at=0.0, medians={})


# Predicted completion -------------------------------------------------------------------------

def _dependencies(task: Any, steps: Mapping[str, Mapping]) -> list[str]:
    depends = _field(task, "depends_on")
    if depends is None:
        depends = steps.get(_field(task, "matter"), {}).get("depends_on", [])
    return list(depends or [])


def estimate_eta(*, definition: Mapping | None, tasks: Iterable[Any],
                 now: datetime) -> datetime | None:
    """When the application should finish: the latest finish along its dependency graph.

    A task takes its matter's typical handling time in its region (the median of the region's
    recent completions), else in the province (every region's), else its promised limit (the
    region's own promise, kept on the task) when the matter has no history yet. Finished tasks
    count as they finished; open ones never finish in the past; a task waiting on others starts
    when the last of them finishes. None when the application can no longer complete (a task
    rejected or cancelled).
    """
    now = _aware(now)
    tasks = list(tasks)
    if not tasks:
        return None
    if any(_field(t, "status") in (TaskStatus.REJECTED, TaskStatus.CANCELLED) for t in tasks):
        return None
    steps = {step["matter"]: step for step in (definition or {}).get("steps", [])
             if step.get("matter")}
    by_matter = {_field(t, "matter"): t for t in tasks}
    medians: dict | None = None

    def finish_after(matter: str, start: datetime) -> datetime:
        nonlocal medians
        if medians is None:
            medians = typical_handling_times(now=now)
        task = by_matter.get(matter)
        typical = medians.get((matter, _field(task, "region"))) or medians.get(matter)
        if typical is not None:
            return start + typical
        limit = _field(task, "promised") or steps.get(matter, {}).get("promised")
        return due_at(start=start, limit=limit) if limit else start

    finishes: dict[str, datetime] = {}

    def finish_of(matter: str, trail: tuple[str, ...] = ()) -> datetime:
        if matter in finishes:
            return finishes[matter]
        if matter in trail:
            raise ValueError(f"dependency cycle through {matter}")
        task = by_matter.get(matter)
        if task is None:  # a dependency outside this application: nothing to wait for
            return now
        status = _field(task, "status")
        released = _aware(_field(task, "released_at"))
        if status == TaskStatus.COMPLETED:
            finish = _aware(_field(task, "completed_at")) or now
        elif status == TaskStatus.NEEDS_SUPPLEMENT:
            paused = _aware(_field(task, "paused_at")) or now
            expected = finish_after(matter, released or paused)
            finish = max(now, paused_due_at(due_at=expected, paused_at=paused, resumed_at=now))
        elif status in (TaskStatus.PENDING, TaskStatus.CLAIMED):
            finish = max(now, finish_after(matter, released or now))
        else:  # waiting: starts when the last of its dependencies finishes
            start = max([finish_of(dep, (*trail, matter))
                         for dep in _dependencies(task, steps)] or [now])
            finish = finish_after(matter, max(start, now))
        finishes[matter] = finish
        return finish

    return max(finish_of(_field(t, "matter")) for t in tasks)
