"""Administration: staff accounts (officers, clerks, admins) and partner systems."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.paging import MAX_PAGE_SIZE, PAGE_SIZE, one_page
from api.schemas.admin import (
    PartnerCreatedSchema,
    PartnerCreateSchema,
    PartnerSchema,
    PartnerSecretSchema,
    PartnerUpdateSchema,
    StaffCreateSchema,
    StaffQueryArgsSchema,
    StaffSchema,
    StaffUpdateSchema,
)
from api.schemas.errors import documented
from models.user import Role
from services.identity import partner_accounts, staff_accounts

blp = Blueprint("admin_users", __name__, url_prefix="/api/v1/admin",
                description="Admins: staff accounts and partner systems")


@blp.route("/staff")
class StaffAccounts(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.arguments(StaffQueryArgsSchema, location="query")
    @blp.response(200, StaffSchema(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, args, pagination_parameters):
        """Staff accounts, by username (an admin scoped to a region: that region's)"""
        return one_page(staff_accounts.staff_of(admin_region=current_user().region, **args),
                        pagination_parameters)

    @auth_required(role=Role.ADMIN)
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffSchema)
    @documented(blp, 409, "username_taken", "This username is taken.")
    def post(self, payload):
        """Create an officer (department, region), clerk (station), agent (region) or admin"""
        return staff_accounts.create_staff(created_by=current_user().id,
                                           admin_region=current_user().region, **payload)


@blp.route("/staff/<user_id>")
class StaffAccountById(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, StaffSchema)
    def get(self, user_id):
        """One staff account"""
        return staff_accounts.get_staff(user_id, admin_region=current_user().region)

    @auth_required(role=Role.ADMIN)
    @blp.arguments(StaffUpdateSchema)
    @blp.response(200, StaffSchema)
    @documented(blp, 409, "cannot_disable_self", "You cannot disable your own account.")
    def patch(self, payload, user_id):
        """Change a staff account: details, password, unlock, or disable (signs it out)"""
        return staff_accounts.update_staff(user_id=user_id, actor_id=current_user().id,
                                           admin_region=current_user().region, **payload)


@blp.route("/partners")
class Partners(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, PartnerSchema(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters):
        """Partner systems, by client id"""
        return one_page(partner_accounts.partners(), pagination_parameters)

    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(PartnerCreateSchema)
    @blp.response(201, PartnerCreatedSchema)
    @documented(blp, 409, "client_id_taken", "This client id is taken.")
    def post(self, payload):
        """Register a partner; its client secret and webhook secret are shown only in this answer"""
        partner, secret, webhook_secret = partner_accounts.register_partner(
            created_by=current_user().id, **payload)
        shown = {name: getattr(partner, name) for name in PartnerSchema().fields}
        return {**shown, "client_secret": secret, "webhook_secret": webhook_secret}


@blp.route("/partners/<partner_id>")
class PartnerById(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, PartnerSchema)
    def get(self, partner_id):
        """One partner"""
        return partner_accounts.get_partner(partner_id)

    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(PartnerUpdateSchema)
    @blp.response(200, PartnerSchema)
    def patch(self, payload, partner_id):
        """Change a partner's name, scopes, webhook, events, or disable it"""
        return partner_accounts.update_partner(partner_id=partner_id, **payload)


@blp.route("/partners/<partner_id>/secret")
class PartnerSecret(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, PartnerSecretSchema)
    def post(self, partner_id):
        """Issue a new client secret (the old one stops working); shown only in this answer"""
        partner, secret = partner_accounts.rotate_partner_secret(partner_id=partner_id)
        return {"client_id": partner.client_id, "client_secret": secret}
