"""Holiday schedules an admin loaded for years the calendar package does not know yet."""
import threading
import time

import mongoengine as me
from flask import current_app

from models.base import TimestampedDocument


class CalendarYear(TimestampedDocument):
    """A year's public holidays and make-up working days (调休) as the State Council publishes."""

    year = me.IntField(primary_key=True)
    holidays = me.ListField(me.StringField())  # ISO dates
    workdays = me.ListField(me.StringField())
    source = me.StringField()
    meta = {"collection": "calendar_years"}


_lock = threading.Lock()
_cache: dict = {"at": float("-inf"), "years": (), "db": None}


def loaded_years() -> tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...]:
    """((year, holidays, workdays), ...) of every loaded year, re-read every
    CALENDAR_REFRESH_SECONDS: a year loaded by the CLI reaches running servers without a restart."""
    db = CalendarYear._get_db().name
    refresh = float(current_app.config["CALENDAR_REFRESH_SECONDS"])
    with _lock:
        if _cache["db"] == db and time.monotonic() - _cache["at"] < refresh:
            return _cache["years"]
    years = tuple((row["_id"], tuple(sorted(row.get("holidays", []))),
                   tuple(sorted(row.get("workdays", []))))
                  for row in CalendarYear._get_collection().find().sort("_id", 1))
    with _lock:
        _cache.update(at=time.monotonic(), years=years, db=db)
    return years


def forget_loaded_years() -> None:
    """Read the loaded years afresh next time (this process just loaded one)."""
    with _lock:
        _cache.update(at=float("-inf"), years=(), db=None)
