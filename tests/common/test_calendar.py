from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from common import calendar
from common.calendar import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_weekdays_are_working_days_and_weekends_are_not():
    plain = WorkingCalendar()
    assert plain.is_working_day(date(2024, 3, 8))  # a Friday
    assert not plain.is_working_day(date(2024, 3, 9))
    assert not plain.is_working_day("2024-03-10")


def test_a_public_holiday_on_a_weekday_is_a_day_off_and_a_make_up_saturday_is_worked():
    spring = WorkingCalendar(holidays=["2024-02-12"], extra_working_days=["2024-02-18"])
    assert not spring.is_working_day(date(2024, 2, 12))  # Monday, holiday
    assert spring.is_working_day(date(2024, 2, 18))  # Sunday, make-up working day


def test_one_working_day_from_a_friday_afternoon_ends_with_monday_in_shanghai():
    due = WorkingCalendar().add_working_days(local(2024, 3, 8, 15, 0), 1)
    assert due == local(2024, 3, 12, 0, 0)  # the close of Monday the 11th
    assert due.tzinfo == UTC
    assert due == datetime(2024, 3, 11, 16, 0, tzinfo=UTC)


def test_counting_follows_the_local_day_not_the_utc_day():
    # 17:00 UTC on a Thursday is already 01:00 on Friday in Shanghai: the count starts later.
    thursday_evening_utc = datetime(2024, 3, 7, 17, 0, tzinfo=UTC)
    assert WorkingCalendar().add_working_days(thursday_evening_utc, 1) == local(2024, 3, 12)
    thursday_morning_utc = datetime(2024, 3, 7, 9, 0, tzinfo=UTC)
    assert WorkingCalendar().add_working_days(thursday_morning_utc, 1) == local(2024, 3, 9)


def test_holidays_and_make_up_days_move_the_deadline():
    # 2026 National Day: 1-7 October off, Saturday 10 October worked.
    national_day = WorkingCalendar(
        holidays=[f"2026-10-0{d}" for d in range(1, 8)], extra_working_days=["2026-10-10"])
    due = national_day.add_working_days(local(2026, 9, 30, 10, 0), 3)
    assert due == local(2026, 10, 11)  # Thursday 8th, Friday 9th, make-up Saturday 10th


def test_the_default_settings_know_the_published_2026_schedule(app):
    active = calendar.current()
    assert not active.is_working_day("2026-10-05")
    assert active.is_working_day("2026-10-10")  # make-up Saturday
    assert not active.is_working_day("2026-02-17")  # Spring Festival
    assert active.is_working_day("2026-02-14")


def test_holidays_are_read_from_the_settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_HOLIDAYS", ["2030-05-07"])
    monkeypatch.setitem(app.config, "EXTRA_WORKING_DAYS", ["2030-05-11"])
    active = calendar.current()
    assert not active.is_working_day("2030-05-07")
    assert active.is_working_day("2030-05-11")
    assert active.is_working_day("2026-10-05")  # the default holidays are replaced, not merged


def test_working_days_between_counts_after_the_start_up_to_the_end():
    plain = WorkingCalendar(holidays=["2024-03-13"])
    assert plain.working_days_between(local(2024, 3, 8, 9), local(2024, 3, 15, 9)) == 4
    assert plain.working_days_between(local(2024, 3, 8, 9), local(2024, 3, 8, 18)) == 0


def test_zero_working_days_is_refused():
    with pytest.raises(ValueError):
        WorkingCalendar().add_working_days(local(2024, 3, 8, 9), 0)
