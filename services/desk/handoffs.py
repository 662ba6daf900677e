"""The handoff records (GET /workbench/handoffs): one per stay of a conversation at the desk,
listed for officers as before the desk existed. Claiming or closing one moves its conversation
as an agent's claim or close does; the conversation's status decides who answers the citizen."""
from bson import ObjectId

from models import indexed_writes
from models.base import utcnow
from models.conversation import MAX_TURNS, WITH_THE_DESK, Conversation, ConversationStatus
from models.handoff import Handoff, HandoffStatus
from models.user import Role
from services.desk.conversations import closed_since, closing_turn
from services.errors import InvalidState, NotFound


def _visible_handoffs(staff):
    query = Handoff.objects
    if staff.role == Role.OFFICER:
        # An officer sees what concerns their department, and what concerns no bundle yet (no
        # departments: `[]` in the `$in`), of citizens of their own region. Not an `$or`: the
        # embedded server plans no filter with an operator at its top level.
        query = query.filter(__raw__={"region": staff.region or None,
                                      "departments": {"$in": [staff.department, []]}})
    return query


def handoffs_for(*, staff, status: str | None = HandoffStatus.OPEN.value):
    """Handoffs waiting for staff, oldest first so the longest wait is served first, as a query
    a caller can page; closed ones of the last DESK_CLOSED_DAYS, as the desk lists them."""
    query = _visible_handoffs(staff)
    if status:
        query = query.filter(status=status)
    if status == HandoffStatus.CLOSED:
        query = query.filter(closed_at__gte=closed_since())
    return query.order_by("created_at")


def list_handoffs(*, staff, status: str | None = HandoffStatus.OPEN.value) -> list[Handoff]:
    """The first 200 (the assistant's own listing)."""
    return list(handoffs_for(staff=staff, status=status).limit(200))


def get_handoff(*, handoff_id: str, staff) -> Handoff:
    found = (_visible_handoffs(staff).filter(id=handoff_id).first()
             if ObjectId.is_valid(str(handoff_id)) else None)
    if found is None:
        raise NotFound("No such handoff.", "未找到该转人工记录。", error="handoff_not_found")
    return found


def transcript(handoff: Handoff, limit: int = 30) -> list[dict]:
    """The last turns of the conversation, as stored (private numbers already masked)."""
    conversation = Conversation.objects(id=handoff.conversation).only("turns").first()
    turns = (conversation.turns if conversation else [])[-limit:]
    return [{"role": t.role, "text": t.text, "at": t.at} for t in turns]


def _transition(handoff_id: str, staff, expected: list[str], changes: dict,
                mine: dict) -> Handoff:
    """One conditional write; `mine`: the fields (this request's own time among them) by which
    its own change is recognised when a driver's retry of the stored write finds it made: the
    embedded server does not deduplicate retried writes. Answered as the first attempt was."""
    handoff = get_handoff(handoff_id=handoff_id, staff=staff)
    changes = {**changes, "updated_at": utcnow()}
    # update_one, not modify(): the embedded server scans for findAndModify.
    if not Handoff.objects(id=handoff.id, status__in=expected).update_one(
            **{f"set__{k}": v for k, v in changes.items()}):
        made = Handoff.objects(id=handoff.id, **mine).first()
        if made is not None:
            return made
        raise InvalidState("This handoff is already {s}.", "该转人工记录当前状态为 {s}。",
                           error="handoff_not_open", s=Handoff.objects(id=handoff.id).first()
                           .status)
    indexed_writes.set_as_stored(handoff, changes)
    return handoff


def claim_handoff(*, handoff_id: str, staff) -> Handoff:
    """A member of staff takes an open handoff; only one can. Its conversation is then held by
    them, as if an agent had claimed it."""
    now = utcnow()
    claimed = _transition(handoff_id, staff, [HandoffStatus.OPEN.value],
                          {"status": HandoffStatus.CLAIMED.value, "claimed_by": str(staff.id),
                           "claimed_at": now},
                          {"status": HandoffStatus.CLAIMED.value, "claimed_by": str(staff.id),
                           "claimed_at": now})
    Conversation.objects(id=claimed.conversation, handoff_id=str(claimed.id),
                         status=ConversationStatus.WAITING_FOR_STAFF.value).update_one(
        set__status=ConversationStatus.WITH_STAFF.value, set__agent=str(staff.id),
        set__claimed_at=now, set__updated_at=now, inc__version=1)
    return claimed


def close_handoff(*, handoff_id: str, staff) -> Handoff:
    """The citizen has been helped: closed, and the conversation goes back to the assistant
    (and may be handed over again)."""
    now = utcnow()
    closed = _transition(handoff_id, staff, [HandoffStatus.OPEN.value,
                                             HandoffStatus.CLAIMED.value],
                         {"status": HandoffStatus.CLOSED.value, "closed_at": now,
                          "closed_by": str(staff.id)},
                         {"status": HandoffStatus.CLOSED.value, "closed_by": str(staff.id),
                          "closed_at": now})
    conversation = Conversation.objects(id=closed.conversation).only("locale").first()
    collection, held = Conversation._get_collection(), {"_id": ObjectId(closed.conversation),
                                                          "handoff_id": str(closed.id)}
    collection.update_one({**held, "status": {"$in": list(WITH_THE_DESK)}}, {
        "$set": {"status": ConversationStatus.CLOSED.value, "closed_at": now,
                 "closed_by": str(staff.id), "updated_at": now},
        "$unset": {"handoff_id": ""},
        "$push": {"turns": {"$each": [closing_turn(conversation.locale if conversation
                                                   else None, now)], "$slice": -MAX_TURNS}},
        "$inc": {"version": 1}})
    collection.update_one(held, {"$unset": {"handoff_id": ""}, "$set": {"updated_at": now},
                                 "$inc": {"version": 1}})
    return closed
