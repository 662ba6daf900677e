"""The desk's sweep: a conversation waiting too long (counted in opening hours) is flagged, once,
to the agents of its region."""
import logging
from datetime import datetime, timedelta

from flask import current_app

from models.base import utcnow
from models.conversation import Conversation, ConversationStatus
from models.notification import NotificationType
from services.desk import hours
from services.identity import staff_accounts
from services.workflow import events

log = logging.getLogger(__name__)

WAITING = ConversationStatus.WAITING_FOR_STAFF.value


def _flag(row: dict, agents: list[str], waited: timedelta, now: datetime) -> bool:
    """One conditional update: the flag and the alerts to the region's agents, or nothing."""
    data = {"conversation": str(row["_id"]), "waited_minutes": int(waited.total_seconds() // 60)}
    intents = [{"id": events.new_id(), "type": NotificationType.CONVERSATION_WAITING.value,
                "at": now, "recipient": agent, "application": None, "bundle": row.get("bundle"),
                "task": None, "matter": None, "department": None, "data": data}
               for agent in agents]
    result = Conversation._get_collection().update_one(
        {"_id": row["_id"], "status": WAITING, "flagged_at": None},
        {"$set": {"flagged_at": now, "updated_at": now,
                  **({"outbox_pending": True} if intents else {})},
         "$push": {"outbox": {"$each": intents}}, "$inc": {"version": 1}})
    return result.modified_count == 1


def sweep(*, now: datetime | None = None) -> int:
    """Flag every conversation that has waited longer than DESK_WAIT_ALERT_SECONDS while the
    desk was open; returns how many this call flagged. Safe in many processes at once: the flag
    is conditional, so one sweeper wins each conversation."""
    now = now or utcnow()
    if not hours.is_open(now):
        return 0  # nobody to tell; the morning's sweep counts from the opening
    limit = timedelta(seconds=float(current_app.config["DESK_WAIT_ALERT_SECONDS"]))
    candidates = Conversation._get_collection().find(
        {"status": WAITING, "flagged_at": None, "waiting_since": {"$lt": now - limit}},
        {"region": 1, "waiting_since": 1, "bundle": 1}).batch_size(100)
    agents: dict[str, list[str]] = {}
    flagged = 0
    for row in candidates:
        waited = hours.open_time_between(row["waiting_since"], now)
        if waited < limit:
            continue
        region = row.get("region") or ""
        if region not in agents:
            agents[region] = staff_accounts.region_agents(region)
        flagged += _flag(row, agents[region], waited, now)
    if flagged:
        log.info("flagged %d conversation(s) waiting too long for the desk", flagged)
    return flagged
