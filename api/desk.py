"""The service desk: agents take the conversations the assistant hands over in their region."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.desk import (
    DeskConversationDetailSchema,
    DeskConversationSchema,
    DeskMessageCreateSchema,
    DeskQueryArgsSchema,
)
from api.schemas.errors import documented
from models.user import Role
from services.desk import conversations as desk
from services.desk import views

blp = Blueprint("desk", __name__, url_prefix="/api/v1/workbench/conversations",
                description="The service desk: people behind the assistant (role agent)")


def _detail(conversation):
    return views.detail(conversation, current_user())


@blp.route("")
class DeskConversations(MethodView):
    @auth_required(role=Role.AGENT)
    @blp.arguments(DeskQueryArgsSchema, location="query")
    @blp.response(200, DeskConversationSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """My region's conversations handed over by the assistant, oldest waiting first"""
        page, size = pagination_parameters.page, pagination_parameters.page_size
        found, total = desk.list_conversations(agent=current_user(), page=page, page_size=size,
                                               **args)
        pagination_parameters.item_count = total
        return views.queue(found, current_user(), first_position=(page - 1) * size + 1,
                           numbered=not args.get("mine"))


@blp.route("/<conversation_id>")
class DeskConversationById(MethodView):
    @auth_required(role=Role.AGENT)
    @blp.response(200, DeskConversationDetailSchema)
    def get(self, conversation_id):
        """One conversation: everything said so far and the citizen's applications"""
        return _detail(desk.get_conversation(agent=current_user(),
                                             conversation_id=conversation_id))


@blp.route("/<conversation_id>/claim")
class DeskConversationClaim(MethodView):
    @auth_required(role=Role.AGENT)
    @blp.response(200, DeskConversationDetailSchema)
    @documented(blp, 409, "conversation_claimed",
                "Another agent has claimed this conversation.",
                description="Claimed by another agent (`conversation_claimed`) or closed "
                            "(`conversation_closed`)")
    def post(self, conversation_id):
        """Take a waiting conversation: one agent wins, the others get 409"""
        return _detail(desk.claim(agent=current_user(), conversation_id=conversation_id))


@blp.route("/<conversation_id>/messages")
class DeskConversationMessages(MethodView):
    @auth_required(role=Role.AGENT)
    @blp.arguments(DeskMessageCreateSchema)
    @blp.response(201, DeskConversationDetailSchema)
    @documented(blp, 409, "conversation_not_claimed",
                "Claim the conversation first.",
                description="Not claimed by me (`conversation_not_claimed`, "
                            "`conversation_claimed`) or closed (`conversation_closed`)")
    def post(self, payload, conversation_id):
        """Write to the citizen: the conversation, their inbox, push and event stream"""
        return _detail(desk.write(agent=current_user(), conversation_id=conversation_id,
                                  words=payload["text"]))


@blp.route("/<conversation_id>/close")
class DeskConversationClosure(MethodView):
    @auth_required(role=Role.AGENT)
    @blp.response(200, DeskConversationDetailSchema)
    @documented(blp, 409, "conversation_closed",
                "The conversation is closed.",
                description="Closed already (`conversation_closed`) or claimed by another agent "
                            "(`conversation_claimed`, `conversation_not_claimed`)")
    def post(self, conversation_id):
        """The citizen has been helped: back to the assistant"""
        return _detail(desk.close(agent=current_user(), conversation_id=conversation_id))
