"""What an agent reads: the region's queue, and one conversation with everything said so far and
the citizen's applications that bear on it, personal data masked."""
import re

from common import crypto
from models.conversation import Conversation, ConversationStatus
from models.handoff import Handoff
from models.user import User
from services.desk import queue as desk_queue
from services.workflow import applications

APPLICATIONS_SHOWN = 5
ACCOUNT_NUMBER = re.compile(r"(?<!\d)(\d{4})\d{4,11}(\d{4})(?!\d)")  # bank cards, accounts


def _masked(value):
    """A form answer as the desk sees it: ID and phone numbers are masked already; account
    numbers are masked too (the desk helps with a case, it pays nobody)."""
    if isinstance(value, str):
        return ACCOUNT_NUMBER.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 8)
                                  + m.group(2), value)
    return value


def _citizens(ids) -> dict[str, User]:
    return {str(u.id): u for u in User.objects(id__in=sorted(set(ids))).only(
        "name", "phone_encrypted", "real_name_verified", "locale", "region")}


def _citizen(user: User | None, owner: str) -> dict:
    if user is None:
        return {"id": owner, "name": None, "phone": None, "real_name_verified": False}
    phone = crypto.decrypt(user.phone_encrypted) if user.phone_encrypted else None
    return {"id": owner, "name": user.name, "phone": crypto.mask_phone(phone),
            "real_name_verified": bool(user.real_name_verified)}


def _summary(conversation: Conversation, agent, citizen: dict, handoff: Handoff | None,
             position: int) -> dict:
    return {
        "id": str(conversation.id), "status": conversation.status,
        "region": conversation.region, "locale": conversation.locale,
        "citizen": citizen, "bundle": conversation.bundle,
        "reason": conversation.handover_reason,
        "words": handoff.reason if handoff is not None else None,
        "waiting_since": conversation.waiting_since, "position": position,
        "after_hours": bool(conversation.after_hours),
        "flagged": conversation.flagged_at is not None,
        "agent": conversation.agent, "held_by_me": conversation.agent == str(agent.id),
        "claimed_at": conversation.claimed_at, "closed_at": conversation.closed_at,
        "updated_at": conversation.updated_at,
    }


def queue(conversations: list[Conversation], agent, *, first_position: int = 1,
          numbered: bool = True) -> list[dict]:
    """The listed conversations, each with who and why; a waiting one with its place."""
    citizens = _citizens(c.owner for c in conversations)
    handoffs = {str(h.id): h for h in Handoff.objects(
        id__in=[c.handoff_id for c in conversations if c.handoff_id]).only("reason")}
    return [_summary(c, agent, _citizen(citizens.get(c.owner), c.owner),
                     handoffs.get(c.handoff_id or ""),
                     first_position + n if numbered and
                     c.status == ConversationStatus.WAITING_FOR_STAFF else 0)
            for n, c in enumerate(conversations)]


def _application(application) -> dict:
    view = applications.citizen_view(application)  # personal data masked, no officers' notes
    tasks = view["tasks"]
    waiting = {t["matter"]: [d for d in t["depends_on"]
                             if next((o["status"] for o in tasks if o["matter"] == d), "")
                             != "completed"] for t in tasks}
    return {
        "id": view["id"], "bundle": view["bundle"], "bundle_name": view["bundle_name"],
        "status": view["status"], "created_at": view["created_at"], "eta": view["eta"],
        "reason": view["reason"], "supplement": view["supplement"],
        "form": {k: _masked(v) for k, v in view["form"].items()},
        "subject": {"kind": view["subject"]["kind"], "name": view["subject"]["name"]},
        "tasks": [{"matter": t["matter"], "name": t["name"], "department": t["department"],
                   "department_name": t["department_name"], "status": t["status"],
                   "waiting_for": waiting[t["matter"]], "reason": t["reason"],
                   "due_at": t["due_at"], "overdue": t["overdue"]} for t in tasks],
    }


def relevant_applications(conversation: Conversation, handoff: Handoff | None) -> list[dict]:
    """The citizen's applications that bear on the conversation: the one it is about (quoted,
    submitted here, or rejected), those of the life event it talks about, else the open ones;
    newest first, a few."""
    found = applications.list_for_citizen(citizen=conversation.owner)
    named = {conversation.application_id, handoff.application if handoff else None} - {None}
    chosen = [a for a in found if str(a.id) in named or (
        conversation.bundle and a.bundle == conversation.bundle)]
    if not chosen:
        chosen = [a for a in found if a.status in ("in_progress", "needs_supplement",
                                                  "rejected")] or found
    return [_application(a) for a in chosen[:APPLICATIONS_SHOWN]]


def _message(turn) -> dict:
    return {"author": turn.role, "text": turn.text or "", "cards": list(turn.cards or []),
            "at": turn.at, "staff": turn.staff}


def detail(conversation: Conversation, agent) -> dict:
    """One conversation as its agent reads it."""
    owner = _citizens([conversation.owner]).get(conversation.owner)
    handoff = Handoff.objects(id=conversation.handoff_id).first() \
        if conversation.handoff_id else None
    return {**_summary(conversation, agent, _citizen(owner, conversation.owner), handoff,
                       desk_queue.position(conversation)),
            "messages": [_message(t) for t in conversation.turns or []],
            "applications": relevant_applications(conversation, handoff)}
