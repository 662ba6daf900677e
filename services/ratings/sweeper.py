"""The ratings' sweep: invitations to rate, overdue cases, forwards and counts left undone."""
from datetime import datetime

from flask import current_app

from models.base import utcnow
from services.ratings import figures, invitations, rectifications


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One round; each step is safe in many processes at once."""
    now = now or utcnow()
    grace = float(current_app.config["LOOP_SWEEP_GRACE_SECONDS"])
    return {
        "rating_invitations": invitations.invite_finished(now=now),
        "rectifications_overdue": rectifications.mark_overdue(now=now),
        "rectification_notices_forwarded": rectifications.forward_pending(now=now, grace=grace),
        "ratings_counted": figures.count_uncounted(now=now, grace=grace),
    }
