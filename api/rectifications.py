"""Rectification (整改): officers answer the low ratings of their department, in their region."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.ratings import (
    RectificationQueryArgsSchema,
    RectificationSchema,
    RectificationTextSchema,
)
from models.user import Role
from services.ratings import rectifications

blp = Blueprint("rectifications", __name__, url_prefix="/api/v1/workbench/rectifications",
                description="Officers' rectification cases, opened by ratings of 2 or less")

NOT_FOUND = documented(blp, 404, "rectification_not_found", "No such rectification case.",
                       description="not a case of the officer's department and region")


def _view(rating):
    return rectifications.case_view(rating, rectifications.matter_names([rating]))


@blp.route("")
class Rectifications(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(RectificationQueryArgsSchema, location="query")
    @blp.response(200, RectificationSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """My department's cases in my region, the soonest due first (filter by status)"""
        items, total = rectifications.officer_cases(
            officer=current_user(), page=pagination_parameters.page,
            page_size=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = total
        return items


@blp.route("/<case_id>/reply")
class RectificationReply(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(RectificationTextSchema)
    @blp.response(200, RectificationSchema)
    @NOT_FOUND
    @documented(blp, 409, "rectification_not_open", "The case is already replied.")
    def post(self, payload, case_id):
        """Answer the citizen (open → replied): they are told in their inbox and by push"""
        return _view(rectifications.reply(case_id=case_id, officer=current_user(), **payload))


@blp.route("/<case_id>/resolve")
class RectificationResolution(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(RectificationTextSchema)
    @blp.response(200, RectificationSchema)
    @NOT_FOUND
    @documented(blp, 409, "rectification_not_replied", "Reply to the citizen first.",
                description="rectification_not_replied (still open) or rectification_not_open "
                            "(already resolved)")
    def post(self, payload, case_id):
        """Close the case with what changed (replied → resolved); the citizen may rate again"""
        return _view(rectifications.resolve(case_id=case_id, officer=current_user(), **payload))
