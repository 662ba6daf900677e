"""The agents' side of the desk: the region's queue, one conversation taken by one agent, what
they write (delivered as notifications: inbox, push, event stream), and closing it."""
from datetime import datetime, timedelta

from bson import ObjectId
from flask import current_app

from common.i18n import text
from models import indexed_writes
from models.base import utcnow
from models.conversation import MAX_TURNS, Conversation, ConversationStatus, Turn
from models.handoff import Handoff, HandoffStatus
from models.notification import NotificationType
from services.errors import InvalidState, NotFound
from services.workflow import events

WAITING, WITH_STAFF, CLOSED = (ConversationStatus.WAITING_FOR_STAFF.value,
                               ConversationStatus.WITH_STAFF.value, ConversationStatus.CLOSED.value)
LISTED = (WAITING, WITH_STAFF, CLOSED)


def _not_found() -> NotFound:
    return NotFound("No such conversation.", "未找到该对话。", error="conversation_not_found")


def _visible(agent) -> dict:
    """What an agent may see: conversations handed over to the desk of their region."""
    return {"region": agent.region or "-", "status": {"$in": list(LISTED)}}


def list_conversations(*, agent, status: str = WAITING, mine: bool | None = None,
                       page: int = 1, page_size: int = 20) -> tuple[list[Conversation], int]:
    """One page of the region's conversations in a status: waiting and held ones oldest waiting
    first, closed ones (of the last DESK_CLOSED_DAYS) latest closed first; and how many there
    are."""
    query = Conversation.objects(__raw__={**_visible(agent), "status": status})
    if status == CLOSED:
        # The last DESK_CLOSED_DAYS only: listed and counted, every closed conversation of the
        # region ever was read (1.3 s of the server's CPU at 10,000 in one region).
        query = query.filter(closed_at__gte=closed_since())
    if mine:
        query = query.filter(agent=str(agent.id))
    order = ("-closed_at",) if status == CLOSED else ("waiting_since", "id")
    total = query.count()
    found = list(query.exclude("turns", "outbox").order_by(*order)
                 .skip((page - 1) * page_size).limit(page_size))
    return found, total


def closed_since(now: datetime | None = None) -> datetime:
    """The earliest close of a closed conversation the desk lists."""
    return (now or utcnow()) - timedelta(days=current_app.config["DESK_CLOSED_DAYS"])


def get_conversation(*, agent, conversation_id: str) -> Conversation:
    """One conversation of the agent's region, every turn included; any other is not found."""
    found = (Conversation.objects(__raw__={"_id": ObjectId(conversation_id), **_visible(agent)})
             .exclude("outbox").first() if ObjectId.is_valid(str(conversation_id)) else None)
    if found is None:
        raise _not_found()
    return found


def _refused(found: Conversation, agent) -> InvalidState:
    if found.status == WITH_STAFF and found.agent != str(agent.id):
        return InvalidState("Another member of staff holds this conversation.",
                            "该对话已由其他工作人员接待。", error="conversation_claimed")
    if found.status == CLOSED:
        return InvalidState("This conversation is closed.", "该对话已结束。",
                            error="conversation_closed")
    return InvalidState("Take this conversation first.", "请先接待该对话。",
                        error="conversation_not_claimed")


def _write(agent, conversation_id: str, condition: dict, update: dict) -> Conversation:
    """One conditional update of a conversation the agent may see; refused with 409 when it is
    not in the state the change needs (another agent was quicker, or it was closed)."""
    found = get_conversation(agent=agent, conversation_id=conversation_id)
    now = utcnow()
    update.setdefault("$set", {})["updated_at"] = now
    update["$inc"] = {"version": 1}  # an assistant turn computed before this loses
    row = indexed_writes.update_and_read(
        Conversation._get_collection(), {"_id": found.id, **_visible(agent), **condition},
        update, projection={"outbox": 0})
    if row is None:
        raise _refused(get_conversation(agent=agent, conversation_id=conversation_id), agent)
    return Conversation._from_son(row)


def claim(*, agent, conversation_id: str) -> Conversation:
    """An agent takes a waiting conversation; a second agent gets 409 (the same agent again:
    nothing changes)."""
    now = utcnow()
    try:
        taken = _write(agent, conversation_id, {"status": WAITING},
                       {"$set": {"status": WITH_STAFF, "agent": str(agent.id),
                                 "claimed_at": now}})
    except InvalidState:
        found = get_conversation(agent=agent, conversation_id=conversation_id)
        if found.status == WITH_STAFF and found.agent == str(agent.id):
            return found
        raise
    if taken.handoff_id:
        Handoff.objects(id=taken.handoff_id, status=HandoffStatus.OPEN.value).update_one(
            set__status=HandoffStatus.CLAIMED.value, set__claimed_by=str(agent.id),
            set__claimed_at=now, set__updated_at=now)
    return taken


def staff_message_intent(conversation: Conversation, words: str, at: datetime) -> dict:
    """The notification a staff message makes: the citizen's inbox (the words, inbox only),
    push and the event stream, through the notifications relay like every other."""
    return {"id": events.new_id(), "type": NotificationType.STAFF_MESSAGE.value, "at": at,
            "recipient": conversation.owner, "application": None, "bundle": conversation.bundle,
            "task": None, "matter": None, "department": None,
            "data": {"conversation": str(conversation.id), "message": words}}


def write(*, agent, conversation_id: str, words: str) -> Conversation:
    """The agent who holds the conversation writes to the citizen: one update stores the
    message and the notification that carries it."""
    words = words.strip()
    now = utcnow()
    found = get_conversation(agent=agent, conversation_id=conversation_id)
    turn = Turn(role="staff", text=words, staff=str(agent.id), at=now).to_mongo()
    return _write(agent, conversation_id, {"status": WITH_STAFF, "agent": str(agent.id)}, {
        "$push": {"turns": {"$each": [turn], "$slice": -MAX_TURNS},
                  "outbox": staff_message_intent(found, words, now)},
        "$set": {"outbox_pending": True}})


def closing_turn(locale: str | None, at: datetime) -> dict:
    return Turn(role="assistant", at=at, text=text(
        "Our staff have closed this conversation. I am here again if you need anything.",
        "工作人员已结束本次人工服务。如有需要，可以继续问我。", locale=locale)).to_mongo()


def close(*, agent, conversation_id: str) -> Conversation:
    """The citizen has been helped: back to the assistant. A waiting conversation may be closed
    by any agent of the region, a held one only by its agent."""
    now = utcnow()
    found = get_conversation(agent=agent, conversation_id=conversation_id)
    # Two conditional writes rather than one with an `$or` (which the embedded server plans on
    # no index: it would read every conversation), the likelier first; each is atomic, so the
    # pair closes exactly what the `$or` would have.
    conditions = [{"status": WAITING}, {"status": WITH_STAFF, "agent": str(agent.id)}]
    if found.status == WITH_STAFF:
        conditions.reverse()
    for attempt, condition in enumerate(conditions):
        try:
            closed = _write(agent, conversation_id, condition, {
                "$set": {"status": CLOSED, "closed_at": now, "closed_by": str(agent.id)},
                "$unset": {"handoff_id": ""},
                "$push": {"turns": {"$each": [closing_turn(found.locale, now)],
                                    "$slice": -MAX_TURNS}}})
            break
        except InvalidState:
            if attempt < len(conditions) - 1:
                continue
            # Closed by this very request: a driver's retry of the stored write met it (the
            # embedded server does not deduplicate retried writes); answered as the first was.
            closed = get_conversation(agent=agent, conversation_id=conversation_id)
            if (closed.status != CLOSED or closed.closed_by != str(agent.id)
                    or closed.closed_at != indexed_writes.as_stored_time(now)):
                raise
    if found.handoff_id:
        Handoff.objects(id=found.handoff_id, status__in=[
            HandoffStatus.OPEN.value, HandoffStatus.CLAIMED.value]).update_one(
            set__status=HandoffStatus.CLOSED.value, set__closed_at=now, set__updated_at=now)
    return closed
