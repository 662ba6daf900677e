"""Bundles ("one things", 一件事): a life event's matters, one joint form, one checklist."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.catalogue import (
    BundleDetailArgsSchema,
    BundleItemSchema,
    BundleQueryArgsSchema,
    BundleSchema,
    ChecklistArgsSchema,
    ChecklistSchema,
)
from models.user import Role
from services.catalogue import publishing
from services.materials import checklists

blp = Blueprint("bundles", __name__, url_prefix="/api/v1/bundles",
                description='"One thing" bundles (public; the checklist for citizens)')


@blp.route("")
class Bundles(MethodView):
    @blp.arguments(BundleQueryArgsSchema, location="query")
    @blp.response(200, BundleItemSchema(many=True))
    def get(self, args):
        """Bundles, or those a citizen's words name ("生孩子", "opening a shop"), best first"""
        return publishing.bundle_list(q=args.get("q"))


@blp.route("/<code>")
class BundleByCode(MethodView):
    @blp.arguments(BundleDetailArgsSchema, location="query")
    @blp.response(200, BundleSchema)
    def get(self, args, code):
        """A bundle: steps and their dependencies, the joint form, the checklist, the figures;
        with ?region=, how that region carries out each step (实施清单)"""
        return publishing.bundle_detail(code, args.get("version"), args.get("region"))


@blp.route("/<code>/checklist")
class BundleChecklist(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(ChecklistArgsSchema, location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, args, code):
        """The bundle's materials for me: each already on file in my vault, or still needed"""
        return checklists.checklist(code=code, owner_id=current_user().id,
                                   subject_id=args.get("subject"))
