"""Authorization matrix entries of the chat assistant and its handoffs (see authz_matrix.py)."""
from models.conversation import Conversation
from models.handoff import Handoff
from tests.api.authz_matrix import (
    REGION,
    RIGHT_DEPARTMENT,
    Call,
    Entry,
    citizen_only,
    staff_only,
)

ENTRIES: dict[str, Entry] = {}


def _conversation(world) -> Conversation:
    return Conversation(owner=str(world.citizen_a.id)).save()


def _handoff(world) -> Handoff:
    """Citizen A (of REGION) asked for a person about something the right department handles."""
    return Handoff(conversation=str(_conversation(world).id), citizen=str(world.citizen_a.id),
                   departments=[RIGHT_DEPARTMENT], region=REGION, reason="转人工").save()


ENTRIES["POST /api/v1/assistant/messages"] = Entry(
    lambda world, actor: Call("/api/v1/assistant/messages", json={"text": "你好"}),
    citizen_only(200))

ENTRIES["GET /api/v1/assistant/conversations"] = Entry(
    lambda world, actor: "/api/v1/assistant/conversations", citizen_only(200))

ENTRIES["GET /api/v1/assistant/conversations/<conversation_id>"] = Entry(
    lambda world, actor: f"/api/v1/assistant/conversations/{_conversation(world).id}",
    citizen_only(200, citizen_b=404))

_STAFF_ON_HANDOFF = {"officer": 200, "officer_other": 404, "officer_elsewhere": 404,
                     "clerk": 200, "admin": 200}

ENTRIES["GET /api/v1/workbench/handoffs"] = Entry(
    lambda world, actor: "/api/v1/workbench/handoffs",
    staff_only(officer=200, officer_other=200, officer_elsewhere=200, clerk=200, admin=200))

ENTRIES["GET /api/v1/workbench/handoffs/<handoff_id>"] = Entry(
    lambda world, actor: f"/api/v1/workbench/handoffs/{_handoff(world).id}",
    staff_only(**_STAFF_ON_HANDOFF))

ENTRIES["POST /api/v1/workbench/handoffs/<handoff_id>/claim"] = Entry(
    lambda world, actor: Call(f"/api/v1/workbench/handoffs/{_handoff(world).id}/claim"),
    staff_only(**_STAFF_ON_HANDOFF))

ENTRIES["POST /api/v1/workbench/handoffs/<handoff_id>/close"] = Entry(
    lambda world, actor: Call(f"/api/v1/workbench/handoffs/{_handoff(world).id}/close"),
    staff_only(**_STAFF_ON_HANDOFF))
