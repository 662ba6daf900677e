"""Authorization matrix entries of the service desk (see authz_matrix.py): agents only, and only
the conversations of their region (another region's: 404)."""
from models.base import utcnow
from models.conversation import Conversation
from services.desk import conversations as desk
from tests.api.authz_matrix import RIGHT_REGION, Call, Entry, staff_only

# Officers see no conversations, whatever their department or region.
NO_OFFICERS = {"officer": 403, "officer_other": 403, "officer_elsewhere": 403}

ENTRIES: dict[str, Entry] = {}
DESK = "/api/v1/workbench/conversations"


def _waiting(world) -> Conversation:
    """Citizen A asked for a person: their conversation waits at their region's desk."""
    return Conversation(owner=str(world.citizen_a.id), status="waiting_for_staff",
                        region=RIGHT_REGION, handover_reason="asked",
                        waiting_since=utcnow()).save()


def _held(world) -> Conversation:
    """The same, taken by the matrix's agent."""
    conversation = _waiting(world)
    return desk.claim(agent=world.agent, conversation_id=str(conversation.id))


# Agents of the region; the other region's agent finds nothing; every other role is refused.
IN_REGION = {"agent_other": 404}

ENTRIES.update({
    f"GET {DESK}": Entry(lambda w, a: DESK, staff_only(**NO_OFFICERS, agent=200, agent_other=200)),
    f"GET {DESK}/<conversation_id>": Entry(
        lambda w, a: f"{DESK}/{_waiting(w).id}", staff_only(**NO_OFFICERS, agent=200, **IN_REGION)),
    f"POST {DESK}/<conversation_id>/claim": Entry(
        lambda w, a: Call(f"{DESK}/{_waiting(w).id}/claim"),
        staff_only(**NO_OFFICERS, agent=200, **IN_REGION)),
    f"POST {DESK}/<conversation_id>/messages": Entry(
        lambda w, a: Call(f"{DESK}/{_held(w).id}/messages", json={"text": "您好"}),
        staff_only(**NO_OFFICERS, agent=201, **IN_REGION)),
    f"POST {DESK}/<conversation_id>/close": Entry(
        lambda w, a: Call(f"{DESK}/{_held(w).id}/close"),
        staff_only(**NO_OFFICERS, agent=200, **IN_REGION)),
})
