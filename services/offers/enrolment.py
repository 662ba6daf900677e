"""Enrolment seasons: a child about to reach kindergarten age (3) or school age (6) is offered
the bundle when their region's season opens, once per child, bundle and year. The cohort is
looked at once a day in season (a child added to a family mid-season gets theirs the next day)."""
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app

from common import calendar
from common.regions import region_of
from models.base import DUPLICATE, utcnow
from models.family import FamilyMember, Relation, is_usable
from models.offer import Offer, OfferSource, SweepMark
from models.user import Role, User
from services.offers import offers

log = logging.getLogger(__name__)

# The bundle a child is offered, by the age they reach by the season's cut-off day.
AGES = {"kindergarten_admission": 3, "school_enrollment": 6}
CHUNK = 500


def season_of(region: str, year: int, settings: Mapping | None = None) -> dict[str, date]:
    """{"opens", "closes", "age_on"} of a region's enrolment season in a year (its own entry
    of ENROLMENT_SEASONS, else "*")."""
    seasons = (settings or current_app.config)["ENROLMENT_SEASONS"]
    found = seasons.get(region) or seasons.get("*") or {}

    def day(name: str) -> date:
        month, dom = (int(part) for part in str(found[name]).split("-"))
        return date(year, month, dom)

    return {name: day(name) for name in ("opens", "closes", "age_on")}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _end_of(day: date) -> datetime:
    local = calendar.current()
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=local.tz).astimezone(UTC)


def offer_enrolment(*, now: datetime | None = None) -> int:
    """Make the season's offers not made yet; returns how many. Idempotent and safe in many
    processes: an offer's id follows from the child, the bundle and the year."""
    now = now or utcnow()
    today = calendar.current().local_date(now)
    seasons = current_app.config["ENROLMENT_SEASONS"]
    if not any(s["opens"] <= today <= s["closes"]
               for s in (season_of(region, today.year) for region in seasons)):
        return 0
    if not _first_run_today(today):
        return 0  # a whole cohort is looked at once a day, by one process
    cutoffs = {season_of(region, today.year)["age_on"] for region in seasons}
    made = 0
    for bundle, age in AGES.items():
        # Every child who may be `age` on some region's cut-off day; each is checked below
        # against their own region's season.
        earliest = min(_years_before(c, age + 1) for c in cutoffs) + timedelta(days=1)
        latest = max(_years_before(c, age) for c in cutoffs)
        children = FamilyMember.objects(relation=Relation.CHILD.value,
                                        birth_date__gte=earliest, birth_date__lte=latest)
        batch: list[FamilyMember] = []
        for child in children.only("id", "owner", "name", "birth_date", "status"):
            if not is_usable(child):  # waiting for a yes: no offer made on it
                continue
            batch.append(child)
            if len(batch) >= CHUNK:
                made += _offer_batch(batch, bundle, age, today)
                batch = []
        if batch:
            made += _offer_batch(batch, bundle, age, today)
    if made:
        log.info("enrolment season: %d offer(s) made", made)
    return made


def _first_run_today(today: date) -> bool:
    """Take today's run (one conditional upsert): true for the one process that does it."""
    try:
        taken = SweepMark._get_collection().update_one(
            {"_id": "enrolment_offers", "day": {"$ne": today.isoformat()}},
            {"$set": {"day": today.isoformat(), "at": utcnow()}}, upsert=True)
    except DUPLICATE:
        return False  # another process took today's run first
    return bool(taken.modified_count or taken.upserted_id)


def _offer_batch(children: list[FamilyMember], bundle: str, age: int, today: date) -> int:
    keys = {str(c.id): f"enrolment:{c.id}:{bundle}:{today.year}" for c in children}
    done = {o.key for o in Offer.objects(key__in=list(keys.values())).only("key")}
    owners = {str(u.id): u for u in User.objects(
        id__in=sorted({c.owner for c in children}), role=Role.CITIZEN.value, active=True)}
    made = 0
    for child in children:
        owner = owners.get(child.owner)
        key = keys[str(child.id)]
        if key in done or owner is None or owner.proactive_offers is False:
            continue
        region = region_of(owner)
        season = season_of(region, today.year)
        if not season["opens"] <= today <= season["closes"]:
            continue
        if age_on(child.birth_date, season["age_on"]) != age:
            continue
        offers.make_offer(
            citizen_id=str(owner.id), key=key, source=OfferSource.ENROLMENT.value,
            bundle=bundle, subject={"kind": "family", "id": str(child.id)},
            prefill={"form": {}, "facts": {"child_name": child.name,
                                           "child_birth_date": child.birth_date.isoformat()}},
            region=region, expires_at=_end_of(season["closes"]))
        made += 1
    return made
