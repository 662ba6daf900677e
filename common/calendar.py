"""The one working-day calendar: weekends, public holidays and make-up working days, local time."""
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


class WorkingCalendar:
    """Which local days are working days, and working-day arithmetic answered in UTC.

    A day is a working day when it is a make-up working day (调休上班), or a weekday that is not
    a public holiday. Make-up days win: the State Council moves Saturdays and Sundays into the
    working week around long holidays.
    """

    def __init__(self, *, holidays: Iterable[date | str] = (),
                 extra_working_days: Iterable[date | str] = (),
                 timezone: str = DEFAULT_TIMEZONE):
        self.holidays = frozenset(_as_date(d) for d in holidays)
        self.extra_working_days = frozenset(_as_date(d) for d in extra_working_days)
        self.tz = ZoneInfo(timezone)

    def local_date(self, moment: datetime) -> date:
        """The local calendar day a moment falls on (naive moments are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.tz).date()

    def start_of_day(self, day: date) -> datetime:
        """Local midnight at the start of a day, in UTC."""
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def is_working_day(self, day: date | str) -> bool:
        day = _as_date(day)
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date | str) -> date:
        """The first working day strictly after a day."""
        day = _as_date(day) + timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end (local midnight after it) of the `days`-th working day after the start's day.

        Counting begins on the working day after the start, as a promise of "N working days from
        receipt" does: a Friday afternoon application with 1 working day is due by the end of
        Monday (or of the first working day after a holiday).
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        day = self.local_date(start)
        for _ in range(days):
            day = self.next_working_day(day)
        return self.start_of_day(day + timedelta(days=1))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """How many working days lie after the start's local day up to and including the end's."""
        first, last = self.local_date(start), self.local_date(end)
        count, day = 0, first + timedelta(days=1)
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


@lru_cache(maxsize=8)
def _build(holidays: tuple[str, ...], extra: tuple[str, ...], timezone: str) -> WorkingCalendar:
    return WorkingCalendar(holidays=holidays, extra_working_days=extra, timezone=timezone)


def from_settings(settings: Mapping) -> WorkingCalendar:
    """The calendar of PUBLIC_HOLIDAYS, EXTRA_WORKING_DAYS and CALENDAR_TIMEZONE."""
    return _build(tuple(str(d) for d in settings.get("PUBLIC_HOLIDAYS") or ()),
                  tuple(str(d) for d in settings.get("EXTRA_WORKING_DAYS") or ()),
                  settings.get("CALENDAR_TIMEZONE") or DEFAULT_TIMEZONE)


def current() -> WorkingCalendar:
    """The calendar of the running app's settings (weekends only outside an app)."""

    return from_settings(current_app.config if has_app_context() else {})
