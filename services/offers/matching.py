"""A person a life event named becomes a citizen: their offer is made once they verify.

Identity sits below offers and must not know of them, so it sends `real_name_verified` and this
module listens (connected when it is imported: every process serving the API or running the
sweep imports it). A verification no listener heard (a process without it, a failure) is found
again by the sweep's `match_waiting`, so the signal only makes the offer arrive sooner.
"""
import logging
from datetime import datetime, timedelta

from models.base import utcnow
from models.offer import LifeEvent
from models.user import Role, User
from services.identity.signals import real_name_verified
from services.offers import life_events

log = logging.getLogger(__name__)

# How far back the sweep looks for verifications the signal may have missed.
RECENT = timedelta(days=1)


def _claim(event: LifeEvent, position: int, user: User) -> bool:
    """Name the citizen on the event's person, once (a conditional update on the person)."""
    person = event.people[position]
    result = LifeEvent._get_collection().update_one(
        {"_id": event.pk, f"people.{position}.id_number_index": person.id_number_index,
         f"people.{position}.user": None},
        {"$set": {f"people.{position}.user": str(user.id),
                  f"people.{position}.opted_out": user.proactive_offers is False}})
    person.user, person.opted_out = str(user.id), user.proactive_offers is False
    return result.modified_count == 1


def _live_events(query: dict, now: datetime):
    return LifeEvent.objects(__raw__={**query, "expires_at": {"$gt": now},
                                      "scrubbed_at": None})


def offer_waiting_events(user: User, *, now: datetime | None = None) -> int:
    """The offers of the live events naming this citizen's ID number; returns how many."""
    if not user.id_number_index or user.role != Role.CITIZEN:
        return 0
    made = 0
    for event in _live_events({"people.id_number_index": user.id_number_index}, now or utcnow()):
        for position, person in enumerate(event.people):
            if person.id_number_index != user.id_number_index:
                continue
            if person.user is None:
                _claim(event, position, user)
            if person.user == str(user.id) and not person.opted_out and not person.offer:
                life_events.offer_to(event, position)
                made += 1
    return made


@real_name_verified.connect
def _on_real_name_verified(user, **_):
    made = offer_waiting_events(user)
    if made:
        log.info("citizen %s verified: %d waiting offer(s) made", user.id, made)


def match_waiting(*, now: datetime | None = None, limit: int = 500) -> int:
    """What the signal may have missed: citizens who verified within RECENT and are named by a
    live event, and people matched whose offer a dead process did not make. Bounded by the
    recent verifications, not by the events kept; safe in many processes (each offer is made
    once)."""
    now = now or utcnow()
    recent = {u.id_number_index: u for u in User.objects(
        role=Role.CITIZEN.value, active=True, real_name_verified_at__gte=now - RECENT,
        id_number_index__ne=None).only("id", "id_number_index", "proactive_offers", "role")
        .limit(limit)}
    named = list(_live_events({"people.id_number_index": {"$in": sorted(recent)}}, now)
                 .limit(limit)) if recent else []
    stuck = list(_live_events({"people": {"$elemMatch": {
        "user": {"$ne": None}, "offer": None, "opted_out": {"$ne": True}}}}, now).limit(limit))
    made = 0
    for event in {e.id: e for e in named + stuck}.values():
        for position, person in enumerate(event.people):
            if person.user is None and person.id_number_index in recent:
                _claim(event, position, recent[person.id_number_index])
            if person.user and not person.opted_out and not person.offer:
                life_events.offer_to(event, position)
                made += 1
    return made


def scrub_expired(*, now: datetime | None = None) -> int:
    """An event's personal data lives as long as its offers: after that only the partner's
    event id and first answer remain (a resend still answers the same)."""
    now = now or utcnow()
    return LifeEvent._get_collection().update_many(
        {"expires_at": {"$lte": now}, "scrubbed_at": None},
        {"$set": {"scrubbed_at": now, "people.$[].id_number_encrypted": None,
                  "people.$[].name_encrypted": None, "people.$[].id_number_index": None},
         "$unset": {"facts_encrypted": ""}}).modified_count
