"""Handing a conversation over to the desk: it waits in the queue of the citizen's region, and
the assistant stays silent until staff close it."""
import logging
from dataclasses import dataclass
from datetime import datetime

from models.base import utcnow
from models.conversation import WITH_THE_DESK, Conversation, ConversationStatus
from models.handoff import Handoff, HandoffStatus
from services.desk import hours
from services.identity import citizens

log = logging.getLogger(__name__)

ASKED, NOT_UNDERSTOOD, REJECTED_APPLICATION = "asked", "not_understood", "rejected_application"
OPEN_HANDOFF = [HandoffStatus.OPEN.value, HandoffStatus.CLAIMED.value]


@dataclass(frozen=True)
class Handover:
    """Where a handed-over conversation stands, for telling the citizen."""

    handoff_id: str
    status: str  # the conversation's: waiting_for_staff or with_staff
    position: int  # 1 = next to be served; 0 once someone holds it
    open: bool  # people are at the desk now
    back_at: datetime  # when people are next at the desk (now, if open)
    hours: hours.Hours

    def card(self) -> dict:
        """The `handoff` card of the assistant's reply."""
        return {"type": "handoff", "handoff_id": self.handoff_id, "status": self.status,
                "position": self.position, "desk_open": self.open,
                "back_at": self.back_at.isoformat(), "hours": self.hours.text()}


def open_handoff(conversation_id: str) -> Handoff | None:
    return Handoff.objects(conversation=str(conversation_id), status__in=OPEN_HANDOFF).first()


def hand_over(*, conversation: Conversation, citizen, reason: str, words: str, locale: str,
              departments: list[str], application_id: str | None = None,
              now: datetime | None = None) -> Handover:
    """Put the conversation in the queue of the desk of the citizen's region (again asked while
    it waits: nothing changes). The caller stores the conversation with its turn; the handoff
    record staff see is written here (one per stay at the desk)."""
    now = now or utcnow()
    handoff = open_handoff(str(conversation.id))
    if handoff is None:
        handoff = Handoff(conversation=str(conversation.id), citizen=str(citizen.id),
                          bundle=conversation.bundle, departments=departments, locale=locale,
                          region=citizens.region_of(citizen),
                          reason=words[:500], application=application_id).save()
        log.info("conversation %s handed over to the desk (%s, %s)", conversation.id,
                 handoff.id, reason)
    if conversation.status not in WITH_THE_DESK:
        conversation.status = ConversationStatus.WAITING_FOR_STAFF.value
        conversation.region = citizens.region_of(citizen)
        conversation.handover_reason = reason
        conversation.waiting_since = now
        conversation.after_hours = not hours.is_open(now)
        conversation.agent = conversation.claimed_at = conversation.closed_at = None
        conversation.closed_by = conversation.flagged_at = None
    conversation.handoff_id = str(handoff.id)
    conversation.misunderstood = 0
    return where(conversation, now)


def position(conversation: Conversation) -> int:
    """1 for the conversation served next in its region, 2 for the one after, …; 0 once held."""
    if conversation.status != ConversationStatus.WAITING_FOR_STAFF:
        return 0
    ahead = Conversation.objects(
        status=ConversationStatus.WAITING_FOR_STAFF.value, region=conversation.region,
        waiting_since__lt=conversation.waiting_since, id__ne=conversation.id).count()
    return ahead + 1


def where(conversation: Conversation, now: datetime | None = None) -> Handover:
    """Where a conversation at the desk stands: its place in the queue and the desk's hours."""
    now = now or utcnow()
    return Handover(handoff_id=conversation.handoff_id or "", status=conversation.status,
                    position=position(conversation), open=hours.is_open(now),
                    back_at=hours.next_opening(now), hours=hours.hours())
