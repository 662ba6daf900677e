"""The signed-in citizen: profile, real-name verification and family members."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.me import (
    FamilyMemberCreateSchema,
    FamilyMemberSchema,
    MeSchema,
    MeUpdateSchema,
    RealNameSchema,
)
from models.user import Role
from services.errors import Unauthorized
from services.identity import citizens, family_members

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
        """My family members"""
        return family_members.family_of(current_user().id)

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(FamilyMemberCreateSchema)
    @blp.response(201, FamilyMemberSchema)
    @documented(blp, 409, "family_member_exists",
                "This family member is already on file.",
                description="This person is on file already (`family_member_exists`), or a second"
                            " spouse (`spouse_exists`)")
    def post(self, payload):
        """Add a family member (a child needs a birth date or ID number)"""
        return family_members.add_family_member(owner_id=current_user().id, **payload)


@blp.route("/family/<member_id>")
class FamilyMemberById(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    def delete(self, member_id):
        """Remove a family member"""
        family_members.remove_family_member(owner_id=current_user().id, member_id=member_id)
