"""The one working-day calendar: weekends, public holidays and make-up working days, local time.

The State Council's schedule comes from the `chinese-calendar` package for the years it knows; a
year it does not know yet comes from the settings (PUBLIC_HOLIDAYS, EXTRA_WORKING_DAYS) or from a
schedule an admin loaded (`flask calendar load-year`), and a year nobody knows is named, not
silently counted as if it had no holidays.
"""
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
# year -> (holidays, make-up working days), ISO dates
Schedule = dict[int, tuple[tuple[str, ...], tuple[str, ...]]]


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
                 timezone: str = DEFAULT_TIMEZONE, known_years: Iterable[int] | None = None):
        self.holidays = frozenset(_as_date(d) for d in holidays)
        self.extra_working_days = frozenset(_as_date(d) for d in extra_working_days)
        self.tz = ZoneInfo(timezone)
        # None: a calendar made by hand for a test or a tool, every year taken as it is.
        self.known_years = None if known_years is None else frozenset(known_years)
        self._warned: set[int] = set()

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
        if (self.known_years is not None and day.year not in self.known_years
                and day.year not in self._warned):
            self._warned.add(day.year)
            log.warning("no holiday schedule for %s: its working days are counted as weekdays "
                        "only until it is loaded (flask calendar load-year %s)", day.year, day.year)
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


@lru_cache(maxsize=1)
def package_schedule() -> Schedule:
    """The years the chinese-calendar package knows, with their holidays and make-up days."""
    holidays: dict[int, list[str]] = defaultdict(list)
    workdays: dict[int, list[str]] = defaultdict(list)
    for day in chinese_calendar.constants.holidays:
        holidays[day.year].append(day.isoformat())
    for day in chinese_calendar.constants.workdays:
        workdays[day.year].append(day.isoformat())
    return {year: (tuple(sorted(holidays[year])), tuple(sorted(workdays[year])))
            for year in sorted(set(holidays) | set(workdays))}


def _by_year(holidays: Iterable, workdays: Iterable) -> Schedule:
    found: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for day in holidays or ():
        found[_as_date(day).year][0].append(_as_date(day).isoformat())
    for day in workdays or ():
        found[_as_date(day).year][1].append(_as_date(day).isoformat())
    return {year: (tuple(sorted(h)), tuple(sorted(w))) for year, (h, w) in found.items()}


# Schedules an admin loaded, kept outside this layer (in the database): the app registers where
# to read them. A source answers ((year, holidays, workdays), ...), cached on its side.
LoadedYears = tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...]
_sources: list[Callable[[], LoadedYears]] = []


def add_source(source: Callable[[], LoadedYears]) -> None:
    if source not in _sources:
        _sources.append(source)


def _loaded() -> LoadedYears:
    if not has_app_context():
        return ()
    return tuple(entry for source in _sources for entry in source())


@lru_cache(maxsize=16)
def _compose(holidays: tuple[str, ...], workdays: tuple[str, ...], loaded: LoadedYears,
             timezone: str) -> tuple[Schedule, WorkingCalendar]:
    # The package's years, then the settings', then loaded ones: a later one replaces a year
    # whole (the settings may correct a year the package has wrong).
    years = dict(package_schedule())
    years.update(_by_year(holidays, workdays))
    years.update({year: (h, w) for year, h, w in loaded})
    working = WorkingCalendar(
        holidays=[d for year in years for d in years[year][0]],
        extra_working_days=[d for year in years for d in years[year][1]],
        timezone=timezone, known_years=years)
    return years, working


def _composed(settings: Mapping) -> tuple[Schedule, WorkingCalendar]:
    return _compose(tuple(str(d) for d in settings.get("PUBLIC_HOLIDAYS") or ()),
                    tuple(str(d) for d in settings.get("EXTRA_WORKING_DAYS") or ()),
                    _loaded(), settings.get("CALENDAR_TIMEZONE") or DEFAULT_TIMEZONE)


def missing_years(settings: Mapping, *, today: date | None = None) -> list[int]:
    """This year and the next, where no schedule knows them (deadlines reach into next year)."""
    tz = ZoneInfo(settings.get("CALENDAR_TIMEZONE") or DEFAULT_TIMEZONE)
    today = today or datetime.now(tz).date()
    known = _composed(settings)[0]
    return [year for year in (today.year, today.year + 1) if year not in known]


def schedule_of(settings: Mapping) -> Schedule:
    """Every known year's (holidays, make-up working days)."""
    return _composed(settings)[0]


def from_settings(settings: Mapping) -> WorkingCalendar:
    """The calendar of the schedule (package, settings, loaded years) and CALENDAR_TIMEZONE."""
    return _composed(settings)[1]


def current() -> WorkingCalendar:
    """The calendar of the running app's settings (the package's schedule outside an app)."""
    return from_settings(current_app.config if has_app_context() else {})


def today() -> date:
    """Today where the service is (CALENDAR_TIMEZONE): a baby born at 02:00 in Ruian was born
    "today", though it is still yesterday in UTC until 08:00."""
    return datetime.now(current().tz).date()

