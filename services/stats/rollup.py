"""The reform figures' roll-up: submissions and finished applications added to day, month, year
and all-time buckets, each application once.

The workflow queues the follow-ups (`figures:submitted`, `figures:finished`) in the write that
submits or finishes an application, so counting costs applying and completing nothing. A sweep
takes a batch of them: a batch record is opened, one update (per set of follow-ups) moves them
from the applications into the batch's entry on each (only one process can take a follow-up),
the batch's counts are added to the buckets under its id (a bucket takes an id once), and the
batch is closed. A process that dies half way leaves its batch open; after a grace another one
finishes it, and the buckets that already took it take nothing twice.
"""
import logging
import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import current_app

from common import calendar
from common.regions import region_of
from models import figures
from models.application import Application, ApplicationStatus, FollowUp
from models.base import utcnow
from models.figures import REFORM, Delta, FigureBatch
from services.errors import NotFound
from services.workflow.applications import definition_of

log = logging.getLogger(__name__)

TAGS = (FollowUp.FIGURES_SUBMITTED.value, FollowUp.FIGURES_FINISHED.value)
FIELDS = {"bundle": 1, "bundle_version": 1, "region": 1, "status": 1, "created_at": 1,
          "completed_at": 1, "updated_at": 1, "events.type": 1, "events.at": 1}
# What the reform saves, against the catalogue's figures of handling each matter alone.
SAVINGS = {"forms_saved": "forms", "materials_saved": "materials", "trips_saved": "visits"}


def minutes_bin(minutes: float) -> int:
    """The upper bound of the histogram bin a completion time falls in: to the minute up to two
    hours, then ten minutes up to a day, hours up to thirty days, days beyond."""
    for limit, step in ((120, 1), (1440, 10), (43200, 60)):
        if minutes <= limit:
            return max(step, math.ceil(minutes / step) * step)
    return math.ceil(minutes / 1440) * 1440


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _event_at(row: dict, kind: str) -> datetime | None:
    return next((_aware(e.get("at")) for e in reversed(row.get("events") or [])
                 if e.get("type") == kind), None)


def _savings(row: dict) -> dict[str, int]:
    try:
        found = definition_of(row["bundle"], row["bundle_version"]).get("figures") or {}
    except NotFound:
        return {}
    before, after = found.get("before") or {}, found.get("after") or {}
    return {name: max(0, int(before.get(key) or 0) - int(after.get(key) or 0))
            for name, key in SAVINGS.items() if before.get(key) is not None}


def deltas(row: dict, tag: str) -> list[Delta]:
    """What one application adds to the figures for one of its follow-ups."""
    local = calendar.current().local_date
    dims = {"bundle": row["bundle"], "region": region_of(row)}
    if tag == FollowUp.FIGURES_SUBMITTED:
        return [Delta(REFORM, local(_aware(row["created_at"])), dims, {"applications": 1})]
    status = row.get("status")
    supplemented = int(any(e.get("type") == "supplement_requested"
                           for e in row.get("events") or []))
    if status == ApplicationStatus.COMPLETED:
        done = _aware(row.get("completed_at")) or _event_at(row, "application_completed")
        minutes = max(0.0, (done - _aware(row["created_at"])).total_seconds() / 60)
        counts = {"finished": 1, "completed": 1, "within_hour": int(minutes <= 60),
                  "supplemented": supplemented, **_savings(row)}
        return [Delta(REFORM, local(done), dims, counts,
                      histogram={str(minutes_bin(minutes)): 1})]
    if status == ApplicationStatus.REJECTED:
        done = _event_at(row, "application_rejected") or _aware(row.get("updated_at"))
        return [Delta(REFORM, local(done), dims,
                      {"finished": 1, "rejected": 1, "supplemented": supplemented})]
    return []


def _grace() -> timedelta:
    return timedelta(seconds=float(current_app.config["LOOP_SWEEP_GRACE_SECONDS"]))


def _apply(batch: str, candidates: list | None) -> int:
    """Add what the batch's applications owe to the buckets (once), and close the batch.
    `candidates`: the applications it may have taken (None: a batch of an older version)."""
    # By `_id` alone (the batch's own are those that carry its record); an older batch without
    # its ids is found by a scan, once.
    query = ({"_id": {"$in": candidates}} if candidates is not None
             else {"figures_batches.id": batch})
    rows = [row for row in Application._get_collection().find(
                query, {**FIELDS, "figures_batches": 1})
            if any(r.get("id") == batch for r in row.get("figures_batches") or [])]
    changes = [d for row in rows for record in row.get("figures_batches") or []
               if record.get("id") == batch for tag in record.get("tags") or []
               for d in deltas(row, tag)]
    figures.add_once(f"figures:{batch}", changes)
    now = utcnow()
    FigureBatch.objects(id=batch).update(set__done=True,
                                         set__expires_at=now + timedelta(days=7))
    return len(rows)


def recover(*, now: datetime | None = None) -> int:
    """Finish the batches whose process died before closing them."""
    now = now or utcnow()
    stale = FigureBatch._get_collection().find({"done": False, "at": {"$lt": now - _grace()}},
                                                {"applications": 1})
    counted = 0
    for batch in stale:
        log.warning("finishing figures batch %s left by a process that stopped", batch["_id"])
        counted += _apply(batch["_id"], batch.get("applications"))
    return counted


def roll_up(*, now: datetime | None = None, limit: int = 500) -> int:
    """Count up to `limit` applications' follow-ups into the reform figures; returns how many
    applications were counted. Safe in many processes at once."""
    now = now or utcnow()
    counted = recover(now=now)
    collection = Application._get_collection()
    found = collection.find({"follow_ups": {"$in": list(TAGS)}},
                            {"follow_ups": 1}).limit(limit)
    by_tags: dict[tuple[str, ...], list] = defaultdict(list)
    for row in found:
        by_tags[tuple(t for t in TAGS if t in (row.get("follow_ups") or []))].append(row["_id"])
    if not by_tags:
        return counted
    batch = uuid.uuid4().hex
    candidates = [i for ids in by_tags.values() for i in ids]
    FigureBatch(id=batch, at=now, applications=candidates).save(force_insert=True)
    for tags, ids in by_tags.items():
        # Only one process can take a follow-up: the filter wants it still there.
        collection.update_many(
            {"_id": {"$in": ids}, "follow_ups": {"$all": list(tags)}},
            {"$pull": {"follow_ups": {"$in": list(tags)}},
             "$push": {"figures_batches": {"id": batch, "tags": list(tags), "at": now}}})
    counted += _apply(batch, candidates)
    if counted:
        log.info("reform figures: counted %d application(s)", counted)
    return counted
