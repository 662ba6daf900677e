"""Ratings counted into public figures as they are given; read back as aggregates only."""
import logging
from datetime import datetime, timedelta

from common import calendar, i18n
from models import figures
from models.base import utcnow
from models.catalogue import Department, Matter
from models.figures import ANY, RATINGS, RATINGS_BY_BUNDLE, Delta
from models.rating import WHOLE_APPLICATION, Rating
from services.errors import ValidationFailed
from services.ratings.tags import SATISFIED

log = logging.getLogger(__name__)

SCORES = ("1", "2", "3", "4", "5")


def _deltas(rating: Rating, sign: int) -> list[Delta]:
    counts = {"count": sign, f"score_{rating.score}": sign}
    if rating.score in SATISFIED:
        counts["satisfied"] = sign
    # A rating of the whole application is nobody's task: it counts in the totals only.
    whole = rating.target == WHOLE_APPLICATION
    public = {"department": WHOLE_APPLICATION if whole else (rating.department or ""),
              "matter": WHOLE_APPLICATION if whole else (rating.matter or ""),
              "region": rating.region}
    day = calendar.current().local_date(rating.created_at)
    by_bundle = {"bundle": rating.bundle, "region": rating.region}
    return [Delta(RATINGS, None, public, counts), Delta(RATINGS_BY_BUNDLE, day, by_bundle, counts)]


def count(rating: Rating, replaced: Rating | None = None) -> None:
    """Add a rating to the figures, once; a re-rating takes the place of the first one."""
    changes = _deltas(rating, +1) + (_deltas(replaced, -1) if replaced is not None else [])
    figures.add_once(f"rating:{rating.id}", changes)
    Rating.objects(id=rating.id, counted=False).update(set__counted=True)


def count_uncounted(*, now: datetime | None = None, grace: float = 60.0,
                    limit: int = 500) -> int:
    """Count the ratings whose request died before counting them (safe in many processes: a
    rating is added under its own id, once)."""
    before = (now or utcnow()) - timedelta(seconds=grace)
    found = list(Rating.objects(counted=False, created_at__lt=before).limit(limit))
    replaced = {str(r.id): r for r in Rating.objects(
        id__in=[r.replaces for r in found if r.replaces])}
    for rating in found:
        count(rating, replaced.get(rating.replaces) if rating.replaces else None)
    if found:
        log.info("counted %d rating(s) left uncounted", len(found))
    return len(found)


def _summary(counts: dict[str, int]) -> dict:
    total = max(0, counts.get("count", 0))
    by_score = {score: max(0, counts.get(f"score_{score}", 0)) for score in SCORES}
    satisfied = by_score["4"] + by_score["5"]
    return {"count": total, "by_score": by_score,
            "satisfaction": round(satisfied / total, 4) if total else None}


def public_figures(*, department: str | None = None, region: str | None = None,
                   matter: str | None = None) -> dict:
    """How citizens rated, by department, region and matter: counts only, never a comment or a
    person; one read of one bucket whatever the number of ratings."""
    for field, document, code in (("department", Department, department),
                                  ("matter", Matter, matter)):
        if code and not document.objects(code=code).only("id").first():
            raise ValidationFailed("Some fields are not valid.", "部分字段无效。", errors={
                field: [i18n.text("No such code: {c}.", "没有此代码：{c}。", c=code)]})
    dims = {"department": department or ANY, "region": region or ANY, "matter": matter or ANY}
    counts, _ = figures.total(figures.read(RATINGS, [("all", "all")], dims))
    return {**_summary(counts), "department": department, "region": region, "matter": matter}
