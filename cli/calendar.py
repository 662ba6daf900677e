"""`flask calendar ...`: the working-day calendar's schedule, and loading a year's schedule."""
import json
from datetime import date

import click
from flask import current_app

from common import calendar
from models.calendar_year import CalendarYear, forget_loaded_years


@click.group("calendar")
def group():
    """The holiday schedule working days are counted with."""


def _dates(values: str, year: int, what: str) -> list[str]:
    days = []
    for value in filter(None, (v.strip() for v in values.replace("\n", ",").split(","))):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not an ISO date", param_hint=what) from None
        if day.year != year:
            raise click.BadParameter(f"{value} is not in {year}", param_hint=what)
        days.append(day.isoformat())
    return sorted(set(days))


@group.command("load-year")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--holidays", default="", help="Comma-separated ISO dates of days off (放假).")
@click.option("--workdays", default="", help="Comma-separated ISO dates of make-up working days "
                                             "(调休上班) on weekends.")
@click.option("--file", "path", type=click.File(), default=None,
              help='JSON {"holidays": [...], "workdays": [...]} instead of the options.')
@click.option("--source", default="", help="Where the schedule was published (kept with it).")
def load_year(year, holidays, workdays, path, source):
    """Load (or replace) one year's schedule, the day the State Council publishes it."""
    if path is not None:
        data = json.load(path)
        holidays, workdays = ",".join(data.get("holidays", [])), ",".join(data.get("workdays", []))
    days_off, days_on = _dates(holidays, year, "--holidays"), _dates(workdays, year, "--workdays")
    if not days_off:
        raise click.UsageError("A year's schedule names its public holidays (--holidays).")
    CalendarYear.objects(year=year).update_one(
        set__holidays=days_off, set__workdays=days_on, set__source=source, upsert=True)
    forget_loaded_years()
    click.echo(f"{year}: {len(days_off)} holidays, {len(days_on)} make-up working days loaded")


@group.command("status")
def status():
    """Which years the schedule knows, and the years it is missing."""
    years = sorted(calendar.schedule_of(current_app.config))
    click.echo(f"known years: {years[0]}–{years[-1]}" if years else "known years: none")
    missing = calendar.missing_years(current_app.config)
    click.echo("missing: " + (", ".join(map(str, missing)) if missing else "none"))
