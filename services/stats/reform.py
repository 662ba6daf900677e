"""The reform figures, read from the buckets the roll-up keeps: a period of any length is a few
years, months and days, so a read costs three commands whatever the number of applications."""
from datetime import UTC, date, datetime, timedelta

from common import calendar, i18n
from models import figures
from models.catalogue import Bundle
from models.figures import ANY, RATINGS_BY_BUNDLE, REFORM
from services.errors import ValidationFailed

EARLIEST = date(2000, 1, 1)


def _problem(field: str, en: str, zh: str, **params) -> ValidationFailed:
    return ValidationFailed(en, zh, errors={field: [i18n.text(en, zh, **params)]}, **params)


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def periods(first: date, last: date) -> list[tuple[str, str]]:
    """The fewest whole years, months and days that make up [first, last]."""
    found: list[tuple[str, str]] = []
    day = first
    while day <= last:
        if (day.month, day.day) == (1, 1) and date(day.year, 12, 31) <= last:
            found.append(("year", f"{day:%Y}"))
            day = date(day.year + 1, 1, 1)
        elif day.day == 1 and _month_end(day) <= last:
            found.append(("month", f"{day:%Y-%m}"))
            day = _month_end(day) + timedelta(days=1)
        else:
            found.append(("day", day.isoformat()))
            day += timedelta(days=1)
    return found


def percentile(histogram: dict[str, int], share: float) -> int | None:
    """The bin (minutes, upper bound) the given share of completions falls within."""
    bins = sorted((int(k), n) for k, n in histogram.items() if n > 0)
    total = sum(n for _, n in bins)
    if not total:
        return None
    running = 0
    for upper, n in bins:
        running += n
        if running >= share * total:
            return upper
    return bins[-1][0]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _check(bundle: str | None, first: date | None, last: date | None) -> None:
    if bundle and not Bundle.objects(code=bundle).only("id").first():
        raise _problem("bundle", "No bundle {b}.", "没有一件事 {b}。", b=bundle)
    if first and last and first > last:
        raise _problem("from", "The period starts after it ends.", "起始日期晚于结束日期。")
    if first and first < EARLIEST:
        raise _problem("from", "The figures start in {y}.", "统计数据始于 {y} 年。",
                       y=EARLIEST.year)


def reform_figures(*, bundle: str | None = None, region: str | None = None,
                   from_: date | None = None, to: date | None = None) -> dict:
    """What the reform did over a period (local days, both ends included; all time when
    neither is given), for a bundle and a region or all of them: public aggregates only."""
    _check(bundle, from_, to)
    if from_ is None and to is None:
        span = [("all", "all")]
    else:
        today = calendar.current().local_date(datetime.now(UTC))
        span = periods(from_ or EARLIEST, to or today)
    dims = {"bundle": bundle or ANY, "region": region or ANY}
    counts, histogram = figures.total(figures.read(REFORM, span, dims))
    rated, _ = figures.total(figures.read(RATINGS_BY_BUNDLE, span, dims))
    completed = counts.get("completed", 0)
    return {
        "bundle": bundle, "region": region, "from": from_, "to": to,
        "applications": counts.get("applications", 0),
        "completed": completed,
        "rejected": counts.get("rejected", 0),
        "median_minutes_to_complete": percentile(histogram, 0.5),
        "p90_minutes_to_complete": percentile(histogram, 0.9),
        "completed_within_hour_share": _share(counts.get("within_hour", 0), completed),
        "forms_saved": counts.get("forms_saved", 0),
        "materials_saved": counts.get("materials_saved", 0),
        "trips_saved": counts.get("trips_saved", 0),
        "supplement_share": _share(counts.get("supplemented", 0), counts.get("finished", 0)),
        "ratings": max(0, rated.get("count", 0)),
        "satisfaction": _share(rated.get("satisfied", 0), rated.get("count", 0)),
    }
