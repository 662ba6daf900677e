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
    assert not active.is_working_day("2026-10-05")  # a setting replaces only the years it names


def test_a_setting_replaces_a_year_the_package_knows_whole(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_HOLIDAYS", ["2026-03-02"])
    active = calendar.current()
    assert not active.is_working_day("2026-03-02")
    assert active.is_working_day("2026-10-05")  # 2026 now is what the setting says
    assert not active.is_working_day("2025-10-01")  # other years keep the package's schedule


def test_a_year_nobody_knows_is_named_not_counted_silently(app, caplog):
    assert calendar.missing_years(app.config, today=date(2031, 6, 1)) == [2031, 2032]
    with caplog.at_level("WARNING", logger="common.calendar"):
        assert calendar.current().is_working_day("2031-10-01")  # weekdays only, and said so
    assert "no holiday schedule for 2031" in caplog.text


def test_an_admin_loads_a_year_and_every_check_knows_it(app, client):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["calendar", "load-year", "2031", "--holidays", "2032-01-01"])
    assert refused.exit_code != 0 and "not in 2031" in refused.output

    loaded = runner.invoke(args=["calendar", "load-year", "2031", "--holidays",
                                 "2031-10-01,2031-10-02", "--workdays", "2031-09-27"])
    assert loaded.exit_code == 0, loaded.output
    assert calendar.missing_years(app.config, today=date(2031, 6, 1)) == [2032]
    active = calendar.current()
    assert not active.is_working_day("2031-10-01")
    assert active.is_working_day("2031-09-27")  # a make-up Saturday


def test_readiness_names_the_years_the_calendar_is_missing(app, client):
    answer = client.get("/readyz", expect=200).get_json()
    missing = calendar.missing_years(app.config)
    assert answer["calendar"]["missing_years"] == missing
    runner = app.test_cli_runner()
    for year in missing:
        result = runner.invoke(args=["calendar", "load-year", str(year), "--holidays",
                                     f"{year}-10-01"])
        assert result.exit_code == 0, result.output
    assert client.get("/readyz", expect=200).get_json()["calendar"] == {
        "status": "ok", "missing_years": []}


def test_working_days_between_counts_after_the_start_up_to_the_end():
    plain = WorkingCalendar(holidays=["2024-03-13"])
    assert plain.working_days_between(local(2024, 3, 8, 9), local(2024, 3, 15, 9)) == 4
    assert plain.working_days_between(local(2024, 3, 8, 9), local(2024, 3, 8, 18)) == 0


def test_zero_working_days_is_refused():
    with pytest.raises(ValueError):
        WorkingCalendar().add_working_days(local(2024, 3, 8, 9), 0)
