"""Asking the citizen to rate: an application that finished gets one invitation in its outbox."""
import logging
from datetime import datetime
from types import SimpleNamespace

from models.application import Application, FollowUp
from models.base import utcnow
from models.notification import NotificationType
from services.workflow import events

log = logging.getLogger(__name__)


def invite_finished(*, now: datetime | None = None, limit: int = 200) -> int:
    """For each application that finished since the last sweep, one conditional update takes
    its follow-up and queues the invitation in its outbox (the relay delivers it: inbox, push);
    safe in many processes, as only one update can take the follow-up."""
    now = now or utcnow()
    collection = Application._get_collection()
    found = collection.find({"follow_ups": FollowUp.RATING_INVITATION.value},
                            {"applicant": 1, "bundle": 1, "status": 1}).limit(limit)
    invited = 0
    for row in found:
        target = SimpleNamespace(id=row["_id"], bundle=row.get("bundle"))
        intent = events.intent(NotificationType.RATING_REQUESTED.value, at=now,
                               application=target, recipient=row["applicant"],
                               data={"status": row.get("status")})
        invited += collection.update_one(
            {"_id": row["_id"], "follow_ups": FollowUp.RATING_INVITATION.value},
            {"$pull": {"follow_ups": FollowUp.RATING_INVITATION.value},
             "$push": {"outbox": intent}, "$set": {"outbox_pending": True}}).modified_count
    if invited:
        log.info("invited %d citizen(s) to rate a finished application", invited)
    return invited
