"""Counters kept as things happen (per day, month, year and all time), so reading the public
figures costs the same however much history lies behind them.

A bucket is one period of one kind of figures for one set of dimensions ("*" standing for any
value). Counters are added by batches, each under an id of its own, and a bucket remembers the
last ids it took: a batch that is applied again (its process died before it could say it was
done, and another process finishes it) finds its id there and adds nothing twice.
"""
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import mongoengine as me
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from models.base import utcnow

log = logging.getLogger(__name__)

ANY = "*"
# The kinds of figures: the reform's (by bundle and region), the ratings' public ones (by
# department, region and matter, all time) and the ratings by bundle and region (satisfaction in
# the reform figures).
REFORM = "reform"
RATINGS = "ratings"
RATINGS_BY_BUNDLE = "ratings_by_bundle"
PERIODS = ("day", "month", "year", "all")
# How many batch ids a bucket remembers: far more than the batches that can reach one bucket
# between a batch's first try and the grace after which another process finishes it.
APPLIED_KEPT = 500
DUPLICATE_KEY = 11000


class FigureBucket(me.Document):
    id = me.StringField(primary_key=True)  # kind|period|start|dim=value|...
    kind = me.StringField(required=True)  # "reform", "ratings", "ratings_reform"
    period = me.StringField(required=True, choices=PERIODS)
    start = me.StringField(required=True)  # "2026-05-01", "2026-05", "2026", "all"
    dims = me.DictField()
    counts = me.DictField()
    histogram = me.DictField()  # minutes to complete: {"upper bound": count}
    applied = me.ListField(me.StringField())
    updated_at = me.DateTimeField()
    # Read by id only: a reader computes the ids of the buckets it needs.
    meta = {"collection": "figure_buckets"}


class FigureBatch(me.Document):
    """One roll-up's batch: open until its counts are in the buckets. A batch left open by a
    process that died is finished by another after a grace (its buckets take nothing twice)."""

    id = me.StringField(primary_key=True)
    at = me.DateTimeField(required=True)
    done = me.BooleanField(default=False)
    expires_at = me.DateTimeField()  # set when done: the record goes a week later
    # The applications the batch may take (at most a roll-up's limit): those that carry its id
    # are its own, found by these ids rather than by an index every application write keeps.
    applications = me.ListField(me.ObjectIdField())
    meta = {"collection": "figure_batches",
            "indexes": [("done", "at"), {"fields": ["expires_at"], "expireAfterSeconds": 0}]}


@dataclass
class Delta:
    """What one batch adds to the buckets of one moment: every period it falls in, and every
    combination of its dimensions with "*" (so any filter reads few buckets)."""

    kind: str
    day: date | None  # None: the all-time bucket only
    dims: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, int] = field(default_factory=dict)


def period_starts(day: date | None) -> list[tuple[str, str]]:
    if day is None:
        return [("all", "all")]
    return [("day", day.isoformat()), ("month", f"{day:%Y-%m}"), ("year", f"{day:%Y}"),
            ("all", "all")]


def bucket_id(kind: str, period: str, start: str, dims: Mapping[str, str]) -> str:
    return "|".join([kind, period, start, *(f"{k}={dims[k]}" for k in sorted(dims))])


def _variants(dims: Mapping[str, str]) -> list[dict[str, str]]:
    """Every combination of the dimensions with "*" in place of some of them."""
    variants: list[dict[str, str]] = [{}]
    for name in sorted(dims):
        variants = [{**v, name: value} for v in variants for value in (dims[name], ANY)]
    return variants


def _merged(deltas: Iterable[Delta]) -> dict[str, dict]:
    buckets: dict[str, dict] = {}
    for delta in deltas:
        for period, start in period_starts(delta.day):
            for dims in _variants(delta.dims):
                key = bucket_id(delta.kind, period, start, dims)
                bucket = buckets.setdefault(key, {"kind": delta.kind, "period": period,
                                                  "start": start, "dims": dims, "inc": {}})
                for name, n in delta.counts.items():
                    bucket["inc"][f"counts.{name}"] = bucket["inc"].get(f"counts.{name}", 0) + n
                for name, n in delta.histogram.items():
                    path = f"histogram.{name}"
                    bucket["inc"][path] = bucket["inc"].get(path, 0) + n
    return buckets


def _update(key: str, bucket: dict, batch: str, now, *, upsert: bool) -> UpdateOne:
    return UpdateOne(
        {"_id": key, "applied": {"$ne": batch}},
        {"$inc": bucket["inc"], "$set": {"updated_at": now},
         "$setOnInsert": {"kind": bucket["kind"], "period": bucket["period"],
                          "start": bucket["start"], "dims": bucket["dims"]},
         "$push": {"applied": {"$each": [batch], "$slice": -APPLIED_KEPT}}},
        upsert=upsert)


def add_once(batch: str, deltas: Iterable[Delta]) -> int:
    """Add the deltas to their buckets unless this batch already did; one command (two when
    two batches create one bucket at the same moment). Returns how many buckets it touched."""
    buckets = {k: b for k, b in _merged(deltas).items() if b["inc"]}
    if not buckets:
        return 0
    now = utcnow()
    keys = list(buckets)
    collection = FigureBucket._get_collection()
    try:
        collection.bulk_write([_update(k, buckets[k], batch, now, upsert=True) for k in keys],
                              ordered=False)
        return len(keys)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        # A duplicate is either this batch applied before (the guard missed, the insert found
        # the bucket) or another batch that created the bucket first: try those without the
        # insert, and the guard tells the two apart.
        again = [keys[error["index"]] for error in errors]
    collection.bulk_write([_update(k, buckets[k], batch, now, upsert=False) for k in again],
                          ordered=False)
    return len(keys)


def read(kind: str, periods: Iterable[tuple[str, str]], dims: Mapping[str, str]) -> list[dict]:
    """The buckets of these (period, start) pairs with exactly these dimensions ("*" for any)."""
    by_period: dict[str, list[str]] = {}
    for period, start in periods:
        by_period.setdefault(period, []).append(start)
    if not by_period:
        return []
    ids = [bucket_id(kind, period, start, dims) for period, starts in by_period.items()
           for start in starts]
    return list(FigureBucket._get_collection().find(
        {"_id": {"$in": ids}}, {"counts": 1, "histogram": 1, "period": 1, "start": 1}))


def total(buckets: Iterable[Mapping]) -> tuple[dict[str, int], dict[str, int]]:
    """The buckets' counters and histograms added up."""
    counts: dict[str, int] = {}
    histogram: dict[str, int] = {}
    for bucket in buckets:
        for name, n in (bucket.get("counts") or {}).items():
            counts[name] = counts.get(name, 0) + int(n)
        for name, n in (bucket.get("histogram") or {}).items():
            histogram[name] = histogram.get(name, 0) + int(n)
    return counts, histogram
