"""The chat assistant: citizens talk to it; staff pick up the conversations handed to them."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.paging import MAX_PAGE_SIZE, PAGE_SIZE, one_page
from api.schemas.assistant import (
    ConversationSchema,
    ConversationSummarySchema,
    HandoffQueryArgsSchema,
    HandoffSchema,
    MessageCreateSchema,
    MessageSchema,
)
from api.schemas.errors import documented
from assistant import conversations as assistant
from models.user import Role
from services.desk import handoffs

STAFF = [Role.OFFICER, Role.CLERK, Role.ADMIN]

# Two prefixes (/assistant for citizens, /workbench/handoffs for staff) in one resource module.
blp = Blueprint("assistant", __name__, url_prefix="/api/v1",
                description="The chat assistant and its handoffs to staff")


@blp.route("/assistant/messages")
class AssistantMessages(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(MessageCreateSchema)
    @blp.response(200, MessageSchema)
    @documented(blp, 404, "conversation_not_found", "No such conversation.",
                description="`conversation_id` names no conversation of mine")
    @documented(blp, 409, "conversation_conflict",
                "The conversation changed meanwhile; send again.")
    def post(self, payload):
        """Tell the assistant what happened or ask it something; it answers and acts"""
        return assistant.post_message(citizen=current_user(), **payload)


@blp.route("/assistant/conversations")
class Conversations(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, ConversationSummarySchema(many=True))
    def get(self):
        """My conversations, the latest first"""
        return assistant.list_conversations(citizen=current_user())


@blp.route("/assistant/conversations/<conversation_id>")
class ConversationById(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, ConversationSchema)
    def get(self, conversation_id):
        """One of my conversations, every turn with its cards"""
        return assistant.get_conversation(conversation_id=conversation_id,
                                          citizen=current_user())


def _with_transcript(handoff) -> dict:
    view = {name: getattr(handoff, name) for name in HandoffSchema().fields if name not in (
        "id", "transcript")}
    return {**view, "id": str(handoff.id), "transcript": handoffs.transcript(handoff)}


@blp.route("/workbench/handoffs")
class Handoffs(MethodView):
    @auth_required(role=STAFF)
    @blp.arguments(HandoffQueryArgsSchema, location="query")
    @blp.response(200, HandoffSchema(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, args, pagination_parameters):
        """Citizens who asked for a person, longest waiting first"""
        found = one_page(handoffs.handoffs_for(staff=current_user(), **args),
                         pagination_parameters)
        return [_with_transcript(h) for h in found]


@blp.route("/workbench/handoffs/<handoff_id>")
class HandoffById(MethodView):
    @auth_required(role=STAFF)
    @blp.response(200, HandoffSchema)
    def get(self, handoff_id):
        """One handoff with the conversation that led to it"""
        return _with_transcript(handoffs.get_handoff(handoff_id=handoff_id,
                                                      staff=current_user()))


@blp.route("/workbench/handoffs/<handoff_id>/claim")
class HandoffClaim(MethodView):
    @auth_required(role=STAFF)
    @blp.response(200, HandoffSchema)
    def post(self, handoff_id):
        """Take an open handoff: I will contact the citizen"""
        return _with_transcript(handoffs.claim_handoff(handoff_id=handoff_id,
                                                        staff=current_user()))


@blp.route("/workbench/handoffs/<handoff_id>/close")
class HandoffClosure(MethodView):
    @auth_required(role=STAFF)
    @blp.response(200, HandoffSchema)
    def post(self, handoff_id):
        """The citizen has been helped"""
        return _with_transcript(handoffs.close_handoff(handoff_id=handoff_id,
                                                        staff=current_user()))
