"""The signed-in citizen: profile, real-name verification and family members."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.me import (
    FamilyMemberCreateSchema,
    FamilyMemberSchema,
    FamilyRequestSchema,
    MeSchema,
    MeUpdateSchema,
    RealNameSchema,
)
from models.user import Role
from services.errors import Unauthorized
from services.identity import citizens, family_links, family_members

blp = Blueprint("me", __name__, url_prefix="/api/v1/me",
                description="The signed-in citizen's profile and family")


def _me():
    user = current_user().load()
    if user is None:  # disabled since the token was issued
        raise Unauthorized()
    return user


@blp.route("")
class Me(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, MeSchema)
    def get(self):
        """My profile: name, language, masked phone and ID number, real-name status"""
        return _me()

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(MeUpdateSchema)
    @blp.response(200, MeSchema)
    @documented(blp, 409, "name_verified",
                "Your name is verified with your ID number and cannot be changed.")
    def patch(self, payload):
        """Change my display name, language, region (where I live) or proactive offers"""
        return citizens.update_profile(user_id=current_user().id, **payload)


@blp.route("/real-name")
class RealName(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(RealNameSchema)
    @blp.response(200, MeSchema)
    @documented(blp, 409, "already_verified",
                "Your real name is already verified.",
                description="Verified already (`already_verified`), or the ID number is another "
                            "account's (`id_number_taken`)")
    def post(self, payload):
        """Verify my real name with my resident ID number (GB 11643 checksum, date, region)"""
        return citizens.verify_real_name(user_id=current_user().id, **payload)


@blp.route("/family")
class Family(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, FamilyMemberSchema(many=True))
    def get(self):
        """My family members, those waiting for a confirmation too"""
        return family_members.family_listing(current_user().id)

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(FamilyMemberCreateSchema)
    @blp.response(201, FamilyMemberSchema)
    @documented(blp, 409, "family_member_exists",
                "This family member is already on file.",
                description="This person is on file already (`family_member_exists`), or a second"
                            " spouse (`spouse_exists`)")
    @documented(blp, 403, "real_name_required",
                "Verify your real name before adding someone another citizen must confirm.",
                description="The ID number is another verified citizen's, or a child other "
                            "citizens hold: only a verified citizen may ask them "
                            "(`real_name_required`)")
    def post(self, payload):
        """Add a family member (a child needs a birth date or ID number)

        An ID number another verified citizen holds, or a child other citizens already hold,
        makes a `pending` entry: it grants no access and cannot be put in a form until that
        citizen (or one of the child's guardians) confirms it at `POST /me/family/requests/{id}/
        confirm`. It counts at once when the link is proven: that citizen lists you back (your
        spouse adds you as spouse), or the child's only guardian so far lists you as spouse."""
        return family_members.add_family_member(owner_id=current_user().id, **payload)


@blp.route("/family/<member_id>")
class FamilyMemberById(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    def delete(self, member_id):
        """Remove a family member"""
        family_members.remove_family_member(owner_id=current_user().id, member_id=member_id)


@blp.route("/family/requests")
class FamilyRequests(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, FamilyRequestSchema(many=True))
    def get(self):
        """Entries other citizens made that wait for my yes: naming me, or a child of mine"""
        return family_links.requests_for(_me())


@blp.route("/family/requests/<request_id>/confirm")
class FamilyRequestConfirmation(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, FamilyRequestSchema)
    @documented(blp, 409, "family_request_decided", "This request has been answered already.")
    def post(self, request_id):
        """Confirm a request: the entry counts (a child's shares its applications with mine)"""
        entry = family_links.confirm(user=_me(), request_id=request_id)
        return {"id": str(entry.id), "relation": entry.relation, "awaiting": entry.awaiting,
                "status": entry.status, "created_at": entry.created_at}


@blp.route("/family/requests/<request_id>/decline")
class FamilyRequestDecline(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    @documented(blp, 409, "family_request_decided", "This request has been answered already.")
    def post(self, request_id):
        """Decline a request: the entry grants nothing, ever"""
        family_links.decline(user=_me(), request_id=request_id)
