"""The offers' sweep: expiry, personal data past its time, waiting people, the enrolment season."""
from datetime import datetime

from flask import current_app

from models.base import utcnow
from services.offers import enrolment, matching, offers


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One round; each step is idempotent and safe in many processes at once."""
    now = now or utcnow()
    grace = float(current_app.config["LOOP_SWEEP_GRACE_SECONDS"])
    return {
        "offers_expired": offers.expire_due(now=now),
        "life_events_scrubbed": matching.scrub_expired(now=now),
        "waiting_offers_made": matching.match_waiting(now=now),
        "offer_notices_handed_over": offers.notify_pending(now=now, grace=grace),
        "enrolment_offers_made": enrolment.offer_enrolment(now=now),
    }
