"""Typical handling times rolled up from new completions only: each roll-up takes the span of
completion times since the last one (claimed with one conditional write, so each span is rolled
up once however many processes try), adds its completions to each matter's recent history in its
region and in the province, and stores their medians.

The aggregation over every finished application of the last 90 days it replaces took 13 s at
10,000 applications, in every API process, every ETA_CACHE_SECONDS. A process that dies between
claiming a span and storing it loses that span's completions from the medians, not a
prediction: the medians are made of hundreds.
"""
import logging
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from models.application import Application, TaskStatus
from models.handling_time import PROVINCE, ROLLED, HandlingTime, key

log = logging.getLogger(__name__)

# Only this many recent completions per matter make its median: enough to be typical, and cheap.
HISTORY_PER_MATTER = 500
# Completions younger than this wait for the next roll-up: a transition stamps its time before
# its write lands, so one may become visible a little after a roll-up passed its time.
SETTLE = timedelta(seconds=30)
# The history from before the first roll-up is read this much per roll-up, newest first: 90 days
# of 100,000 applications in one aggregation took the embedded server 34 s, long enough for every
# client to take it for dead.
BACKFILL_STEP = timedelta(days=1)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _frontiers(now: datetime) -> dict | None:
    """The stored frontiers: `until` (newer completions are not rolled up yet) and `back_to`
    (older ones are not either: the history before the first roll-up, read a step at a time).
    None when another process is writing the first."""
    collection = HandlingTime._get_collection()
    rolled = collection.find_one({"_id": ROLLED}, {"until": 1, "back_to": 1})
    if rolled is not None:
        return rolled
    start = now - SETTLE
    try:
        collection.insert_one({"_id": ROLLED, "until": start, "back_to": start})
    except DuplicateKeyError:
        return None
    return {"until": start, "back_to": start}


def _moved(rolled: dict, frontier: str, to: datetime) -> bool:
    """Move a frontier from where it was read; False when another process moved it first (the
    span between is theirs to roll up)."""
    return bool(HandlingTime._get_collection().update_one(
        {"_id": ROLLED, frontier: rolled.get(frontier)}, {"$set": {frontier: to}}).modified_count)


def _spans(now: datetime, days: int, backfill: bool) -> tuple[tuple | None, tuple | None]:
    """The spans of completion times this call rolls up, each claimed or None: the new ones since
    the last roll-up, and (with `backfill`) the next step of the older history."""
    rolled = _frontiers(now)
    if rolled is None:
        return None, None
    since, until = _aware(rolled["until"]), now - SETTLE
    newer = (since, until) if until > since and _moved(rolled, "until", until) else None
    older = None
    back_to = _aware(rolled.get("back_to"))  # None: written before the history was stepped
    if backfill and back_to is not None and back_to > now - timedelta(days=days):
        start = max(back_to - BACKFILL_STEP, now - timedelta(days=days))
        if _moved(rolled, "back_to", start):
            older = (start, back_to)
    return newer, older


def _completions(since: datetime, until: datetime) -> dict[str, list[dict]]:
    """The span's completions, handling time being release (pending) to completion, by key."""
    span = {"$gte": since, "$lt": until}
    rows = Application._get_collection().aggregate([
        # The dotted clause first, for its index; `$elemMatch` keeps status and time together.
        {"$match": {"tasks.completed_at": span, "tasks": {"$elemMatch": {
            "status": TaskStatus.COMPLETED.value, "completed_at": span}}}},
        {"$unwind": "$tasks"},
        {"$match": {"tasks.status": TaskStatus.COMPLETED.value, "tasks.completed_at": span,
                    "tasks.released_at": {"$ne": None}}},
        {"$project": {"_id": 0, "matter": "$tasks.matter", "region": "$tasks.region",
                      "at": "$tasks.completed_at",
                      "ms": {"$subtract": ["$tasks.completed_at", "$tasks.released_at"]}}},
    ])
    found: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if not isinstance(row.get("ms"), int | float) or row["ms"] < 0:
            continue
        sample = {"at": row["at"], "ms": row["ms"]}
        found[key(row["matter"], PROVINCE)].append(sample)
        if row.get("region"):
            found[key(row["matter"], row["region"])].append(sample)
    return found


def roll_up(*, now: datetime | None = None, days: int = 90, backfill: bool = True) -> int:
    """Add the completions since the last roll-up (and, with `backfill`, a step of the older
    history) to the histories and their medians; returns how many completions (per matter) were
    added."""
    now = now or datetime.now(UTC)
    newer, older = _spans(now, days, backfill)
    found = {"newer": _completions(*newer) if newer else {},
             "older": _completions(*older) if older else {}}
    keys = set(found["newer"]) | set(found["older"])
    if not keys:
        return 0
    collection = HandlingTime._get_collection()
    writes = []
    for which, position in (("newer", {}), ("older", {"$position": 0})):
        for k, samples in found[which].items():
            # Spans are claimed in order (new ones after, older ones before what is kept), so
            # each history stays (nearly) oldest first, and the slice keeps its newest.
            samples.sort(key=lambda d: d["at"])
            writes.append(UpdateOne({"_id": k}, {
                "$set": {"matter": k.split("|", 1)[0], "region": k.split("|", 1)[1]},
                "$push": {"at": {"$each": [d["at"] for d in samples], **position,
                                 "$slice": -HISTORY_PER_MATTER},
                          "ms": {"$each": [float(d["ms"]) for d in samples], **position,
                                 "$slice": -HISTORY_PER_MATTER}}}, upsert=True))
    # In order: a history's newer and older samples are two updates of one document.
    collection.bulk_write(writes, ordered=True)
    oldest = now - timedelta(days=days)
    medians = []
    for row in collection.find({"_id": {"$in": list(keys)}}, {"at": 1, "ms": 1}):
        kept = [(at, ms) for at, ms in zip(row.get("at") or [], row.get("ms") or [],
                                           strict=False) if _aware(at) >= oldest]
        if kept:
            medians.append(UpdateOne({"_id": row["_id"]}, {"$set": {
                "median_ms": float(statistics.median(ms for _, ms in kept)),
                "newest": max(at for at, _ in kept)}}))
    if medians:
        collection.bulk_write(medians, ordered=False)
    added = sum(len(v) for part in found.values()
                for k, v in part.items() if k.endswith("|" + PROVINCE))
    log.info("handling times: %d completions rolled up", added)
    return added


def medians(*, now: datetime, days: int) -> dict:
    """The stored medians: by (matter, region) for each region's own history, by matter for the
    province's; a history with nothing in the last `days` is left out."""
    found: dict = {}
    oldest = now - timedelta(days=days)
    for row in HandlingTime._get_collection().find(
            {"median_ms": {"$ne": None}}, {"matter": 1, "region": 1, "median_ms": 1,
                                           "newest": 1}):
        if row.get("newest") is None or _aware(row["newest"]) < oldest:
            continue
        typical = timedelta(milliseconds=row["median_ms"])
        if row["region"] == PROVINCE:
            found[row["matter"]] = typical
        else:
            found[(row["matter"], row["region"])] = typical
    return found


def forget() -> None:
    """Start the histories again from the last `days` of completions at the next roll-up (after
    importing history, or moving tasks between regions)."""
    HandlingTime._get_collection().delete_many({})
