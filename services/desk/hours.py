"""When the service desk is open: working days (common.calendar) between two local times."""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import current_app

from common import calendar


@dataclass(frozen=True)
class Hours:
    opens: time
    closes: time

    def text(self) -> str:
        return f"{self.opens:%H:%M}–{self.closes:%H:%M}"


def _clock(value: str) -> time:
    hours, _, minutes = str(value).strip().partition(":")
    return time(int(hours), int(minutes or 0))


def hours() -> Hours:
    """The desk's opening hours on a working day, local time (DESK_OPENS, DESK_CLOSES)."""
    config = current_app.config
    return Hours(_clock(config["DESK_OPENS"]), _clock(config["DESK_CLOSES"]))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_open(now: datetime) -> bool:
    """Whether people are at the desk at this moment."""
    working = calendar.current()
    local = _aware(now).astimezone(working.tz)
    open_hours = hours()
    return (working.is_working_day(local.date())
            and open_hours.opens <= local.time().replace(tzinfo=None) < open_hours.closes)


def next_opening(now: datetime) -> datetime:
    """When people are next at the desk (now, if it is open), in UTC."""
    if is_open(now):
        return _aware(now).astimezone(UTC)
    working = calendar.current()
    local = _aware(now).astimezone(working.tz)
    opens = hours().opens
    day = local.date()
    if not (working.is_working_day(day) and local.time().replace(tzinfo=None) < opens):
        day = working.next_working_day(day)
    return datetime.combine(day, opens, tzinfo=working.tz).astimezone(UTC)


MAX_DAYS = 62  # a wait longer than this is long whichever way it is counted


def open_time_between(start: datetime, end: datetime) -> timedelta:
    """How much of the time from `start` to `end` the desk was open: a wait that began in the
    evening counts from the next morning."""
    working, open_hours = calendar.current(), hours()
    start, end = _aware(start), _aware(end)
    total, day = timedelta(0), working.local_date(start)
    last = min(working.local_date(end), day + timedelta(days=MAX_DAYS))
    while day <= last:
        if working.is_working_day(day):
            opened = datetime.combine(day, open_hours.opens, tzinfo=working.tz)
            closed = datetime.combine(day, open_hours.closes, tzinfo=working.tz)
            overlap = min(end, closed) - max(start, opened)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


def local_text(moment: datetime) -> str:
    """A moment as the citizen reads it: local date and time."""
    return _aware(moment).astimezone(calendar.current().tz).strftime("%Y-%m-%d %H:%M")
